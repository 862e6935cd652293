"""queue.retry (docs/workers.md, "Retries that back off"): the wait after a failed attempt,
as the worker and the handler compute it (qfleet_shared.retry_delay)."""
from types import SimpleNamespace

import qfleet_shared as qs


def cfg(**env):
    return qs.SharedConfig({k: str(v) for k, v in env.items()})


def test_unset_it_is_the_workers_old_backoff_of_one_second_doubling_up_to_ten():
    c = cfg()
    assert not c.retry
    assert [qs.retry_delay(c, n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_each_wait_doubles_the_one_before_up_to_max_delay():
    c = cfg(QFLEET_RETRY_BACKOFF=30, QFLEET_RETRY_MAX_DELAY=300)
    assert c.retry
    assert [qs.retry_delay(c, n) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]
    # A receive count that is not a number counts as the first attempt; a huge one saturates.
    assert qs.retry_delay(c, "?") == 30 and qs.retry_delay(c, 10_000) == 300


def test_full_jitter_draws_each_wait_from_zero_to_the_computed_one():
    c = cfg(QFLEET_RETRY_BACKOFF=10, QFLEET_RETRY_MAX_DELAY=100, QFLEET_RETRY_JITTER="full")
    assert qs.retry_delay(c, 3, rand=lambda: 0.0) == 0
    assert qs.retry_delay(c, 3, rand=lambda: 0.999999) == 40
    assert qs.retry_delay(c, 3, rand=lambda: 0.5) == 20
    import random
    r = random.Random(7)
    draws = [qs.retry_delay(c, 4, rand=r.random) for _ in range(2000)]
    assert min(draws) == 0 and max(draws) == 80  # every value of 0..80 is reachable
    assert 35 < sum(draws) / len(draws) < 45  # uniform: the mean is half the cap


def test_a_wait_never_reaches_past_sqs_s_twelve_hours_from_the_receive():
    c = cfg(QFLEET_RETRY_BACKOFF=3600, QFLEET_RETRY_MAX_DELAY=43200)
    assert qs.retry_delay(c, 5) == 43199  # 16 h computed; the call would be rejected
    assert qs.retry_delay(c, 1, elapsed=43000) == 199
    assert qs.retry_delay(c, 1, elapsed=50000) == 0


def test_bad_values_fall_back_to_the_defaults_and_never_go_negative():
    c = cfg(QFLEET_RETRY_BACKOFF="soon", QFLEET_RETRY_MAX_DELAY=-5)
    assert (c.retry_backoff, c.retry_max_delay) == (1, 0)
    assert qs.retry_delay(c, 3) == 0
    assert qs.retry_delay(SimpleNamespace(retry_backoff=0, retry_max_delay=10, max_receive=0,
                                          retry_jitter="none"), 9) == 0


def test_the_last_attempt_waits_none_so_sqs_dead_letters_it_at_once():
    c = cfg(QFLEET_RETRY_BACKOFF=60, QFLEET_RETRY_MAX_DELAY=600, QFLEET_MAX_RECEIVE_COUNT=3)
    assert [qs.retry_delay(c, n) for n in (1, 2, 3, 4)] == [60, 120, 0, 0]
