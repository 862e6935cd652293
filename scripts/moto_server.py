"""moto's server (`moto_server`), as scripts/local-aws starts it, with one fix to moto.

moto serializes a list answer straight from a live view of its own state: ListChangeSets
walks every change set it holds while another request (a deploy of another environment, or
another test) adds one, and the answer is HTTP 500 with an HTML page ("OrderedDict mutated
during iteration"), which qfleet rightly reads as an API the endpoint does not serve. Each
list is copied before it is written out; the copy of a dict's view is one step under Python's
GIL, so no other request can change it meanwhile. Nothing else of moto changes.
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


for cls in vars(serialize).values():
    if isinstance(cls, type) and "_serialize_type_list" in vars(cls):
        cls._serialize_type_list = snapshot(vars(cls)["_serialize_type_list"])

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
