#!/usr/bin/env python3
"""Counts the pipeline's documents in a MongoDB-wire server, with the standard library only.

    mongo_count.py PORT DATABASE  ->  {"underlying": {"count": n, "distinct": d}, "option_quote": ..., ...}

`count` is the number of documents of a collection, `distinct` the number of distinct message ids in it
(the key of the store's unique index: product+tick_id, symbol+quote_id, chain_id), so count - distinct is
the number of duplicates and `distinct` the number of different messages stored. One OP_MSG per command
over 127.0.0.1:PORT; the BSON coder knows just the types these replies use.
"""
import json
import socket
import struct
import sys

COLLECTIONS = {  # the feed report's kind -> (collection, the fields of its unique message id)
    "underlying": ("underlying_ticks", ["product", "tick_id"]),
    "option_quote": ("option_quotes", ["symbol", "quote_id"]),
    "option_chain": ("option_chains", ["chain_id"]),
}


def encode(doc):
    out = b""
    for key, value in doc.items():
        name = key.encode() + b"\0"
        if isinstance(value, bool):
            out += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            out += b"\x12" + name + struct.pack("<q", value)
        elif isinstance(value, float):
            out += b"\x01" + name + struct.pack("<d", value)
        elif isinstance(value, str):
            raw = value.encode() + b"\0"
            out += b"\x02" + name + struct.pack("<i", len(raw)) + raw
        elif isinstance(value, dict):
            out += b"\x03" + name + encode(value)
        elif isinstance(value, list):
            out += b"\x04" + name + encode({str(i): v for i, v in enumerate(value)})
        else:
            raise TypeError(f"cannot encode {type(value)}")
    return struct.pack("<i", len(out) + 5) + out + b"\0"


def decode(data, pos=0):
    size = struct.unpack_from("<i", data, pos)[0]
    end, pos, doc = pos + size - 1, pos + 4, {}
    while pos < end:
        kind = data[pos]
        pos += 1
        nul = data.index(b"\0", pos)
        key, pos = data[pos:nul].decode(), nul + 1
        if kind == 0x01:
            value, pos = struct.unpack_from("<d", data, pos)[0], pos + 8
        elif kind == 0x02:
            n = struct.unpack_from("<i", data, pos)[0]
            value, pos = data[pos + 4:pos + 3 + n].decode(), pos + 4 + n
        elif kind in (0x03, 0x04):
            n = struct.unpack_from("<i", data, pos)[0]
            value, pos = decode(data, pos), pos + n
            if kind == 0x04:
                value = list(value.values())
        elif kind == 0x07:
            value, pos = data[pos:pos + 12].hex(), pos + 12
        elif kind == 0x08:
            value, pos = data[pos] == 1, pos + 1
        elif kind in (0x09, 0x11, 0x12):
            value, pos = struct.unpack_from("<q", data, pos)[0], pos + 8
        elif kind == 0x0A:
            value = None
        elif kind == 0x10:
            value, pos = struct.unpack_from("<i", data, pos)[0], pos + 4
        else:
            raise ValueError(f"BSON type {kind:#x} of {key!r} is not supported")
        doc[key] = value
    return doc


class Client:
    def __init__(self, port):
        # FerretDB on SQLite scans for these counts: seconds per thousand large documents on a busy machine.
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=180)
        self.request = 0

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        return buf

    def command(self, doc):
        self.request += 1
        body = struct.pack("<I", 0) + b"\x00" + encode(doc)
        self.sock.sendall(struct.pack("<iiii", 16 + len(body), self.request, 0, 2013) + body)
        length = struct.unpack("<i", self._read(4))[0]
        rest = self._read(length - 4)
        if struct.unpack_from("<i", rest, 8)[0] != 2013 or rest[16] != 0:
            raise ValueError("unexpected reply")
        reply = decode(rest, 17)
        if reply.get("ok") != 1 and reply.get("ok") != 1.0:
            raise RuntimeError(f"{next(iter(doc))} failed: {reply}")
        return reply


def main():
    port, database = int(sys.argv[1]), sys.argv[2]
    client = Client(port)
    result = {}
    for kind, (collection, fields) in COLLECTIONS.items():
        count = client.command({"count": collection, "query": {}, "$db": database})["n"]
        group_id = {f: "$" + f for f in fields}
        reply = client.command({"aggregate": collection,
                                "pipeline": [{"$group": {"_id": group_id}}, {"$count": "n"}],
                                "cursor": {}, "$db": database})
        batch = reply["cursor"]["firstBatch"]
        result[kind] = {"count": int(count), "distinct": int(batch[0]["n"]) if batch else 0}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
