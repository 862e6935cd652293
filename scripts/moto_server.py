"""moto's server (`moto_server`), as scripts/local-aws starts it, with fixes to moto.

moto serializes a list answer straight from a live view of its own state: ListChangeSets
walks every change set it holds while another request (a deploy of another environment, or
another test) adds one, and the answer is HTTP 500 with an HTML page ("OrderedDict mutated
during iteration"), which qfleet rightly reads as an API the endpoint does not serve. Each
list is copied before it is written out; the copy of a dict's view is one step under Python's
GIL, so no other request can change it meanwhile.

The second is the same race in SQS: a queue created with a redrive policy looks for its
dead-letter queue by walking every queue (`Queue._setup_dlq`), and a queue another request
creates meanwhile (two environments deployed at once) ends that walk with "dictionary changed
size during iteration", which moto answers to CloudFormation's ExecuteChangeSet as HTTP 500.
SQS's table of queues hands out copies of its views, and so does each of IAM's tables (its
managed policies, which AttachRolePolicy walks; its roles, which CreateRole walks). Nothing
else of moto changes.
"""
import sys

import moto.core.serialize as serialize
from moto.server import main


def snapshot(original):
    def serialize_list(self, serialized, value, shape, key):
        if not isinstance(value, (list, tuple)):
            value = list(value)
        return original(self, serialized, value, shape, key)
    return serialize_list


class _Copied(dict):
    """A dict whose views are copies, taken in one step under the GIL."""

    def values(self):
        return list(super().values())

    def items(self):
        return list(super().items())

    def keys(self):
        return list(super().keys())

    def __iter__(self):
        return iter(list(super().keys()))


def _sqs_queues_copied():
    from moto.sqs.models import SQSBackend

    original = SQSBackend.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.queues = _Copied(self.queues)

    SQSBackend.__init__ = init


def _iam_policies_copied():
    from moto.iam.models import IAMBackend

    original = IAMBackend.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        # Every table, not the managed policies alone: CreateRole walks the roles the same way.
        for name, value in list(vars(self).items()):
            if type(value) is dict:
                setattr(self, name, _Copied(value))

    IAMBackend.__init__ = init


_sqs_queues_copied()
_iam_policies_copied()

for cls in vars(serialize).values():
    if isinstance(cls, type) and "_serialize_type_list" in vars(cls):
        cls._serialize_type_list = snapshot(vars(cls)["_serialize_type_list"])

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
