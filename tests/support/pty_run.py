"""Runs a command on a pseudo-terminal, as a person at a terminal would, for the tests.

    pty_run.py WAIT_FOR KEYS -- COMMAND...

Waits until WAIT_FOR appears in what the command printed, types KEYS ("^C" is Ctrl-C), and
prints one JSON line: the exit code (128+N for signal N), the seconds from the keys to the exit,
and everything the command printed, up to its exit. Gives up after 120 s.
"""
import json
import os
import pty
import select
import signal
import sys
import time


def main():
    wait_for, keys = sys.argv[1], sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    sent_at = None
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if sent_at is None and wait_for.encode() in out:
            time.sleep(0.3)
            os.write(fd, b"\x03" if keys == "^C" else keys.encode())
            sent_at = time.time()
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if not done:
        _, status = os.waitpid(pid, 0)
    # What the command printed just before it exited may still be in the terminal's buffer
    # when its exit is seen: read it all (the end of the output is what a test reads most).
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal is closed once the buffer is empty (EIO on Linux)
            break
        if not chunk:
            break
        out += chunk
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps({
        "exit_code": code if code >= 0 else 128 - code,
        "seconds_after_keys": None if sent_at is None else round(time.time() - sent_at, 2),
        "output": out.decode(errors="replace"),
    }))


if __name__ == "__main__":
    main()
