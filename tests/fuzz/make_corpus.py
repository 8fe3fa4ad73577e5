#!/usr/bin/env python3
"""Writes the seed corpus for kq_fuzz_gguf: tiny valid and invalid GGUF files as tests/fuzz/corpus/*.seed."""
import os
import struct
import sys

# GGUF metadata value type ids (formats.md A.4).
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
              U64: "<Q", I64: "<q", F64: "<d"}


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def value(t, v):
    if t == STRING:
        return gstr(v)
    if t == ARRAY:
        et, items = v
        out = struct.pack("<IQ", et, len(items))
        return out + b"".join(value(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def kv(key, t, v):
    return gstr(key) + struct.pack("<I", t) + value(t, v)


def tensor_info(name, ne, ttype, offset):
    return gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + \
        struct.pack("<IQ", ttype, offset)


def pad(buf, align):
    return buf + b"\0" * ((align - len(buf) % align) % align)


def gguf(kvs, tensors, data_sizes, version=3, align=32):
    """Builds a file; tensors are (name, ne, type) and get cumulative aligned offsets."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    offset, infos, data = 0, b"", b""
    for (name, ne, ttype), size in zip(tensors, data_sizes):
        infos += tensor_info(name, ne, ttype, offset)
        chunk = pad(bytes((i * 7 + 3) & 0xFF for i in range(size)), align)
        data += chunk
        offset += len(chunk)
    out = head + infos
    return pad(out, align) + data if tensors else out


def every_type_kvs():
    return [
        kv("general.architecture", STRING, "llama"),
        kv("t.u8", U8, 200), kv("t.i8", I8, -5), kv("t.u16", U16, 60000), kv("t.i16", I16, -300),
        kv("t.u32", U32, 7), kv("t.i32", I32, -7), kv("t.f32", F32, 1e-5), kv("t.bool", BOOL, 1),
        kv("t.u64", U64, 2**64 - 1), kv("t.i64", I64, -2**63), kv("t.f64", F64, 2.5),
        kv("t.strs", ARRAY, (STRING, ["a", "", "\u2581b"])),
        kv("t.i32s", ARRAY, (I32, [1, -2, 3])),
        kv("t.f32s", ARRAY, (F32, [0.5, -1.0])),
        kv("t.bools", ARRAY, (BOOL, [0, 1])),
        kv("t.empty", ARRAY, (U8, [])),
    ]


def seeds():
    two = [("blk.0.q.weight", [32, 1], 8), ("tok.weight", [4, 2], 0)]
    small = gguf([kv("general.architecture", STRING, "llama"), kv("general.alignment", U32, 32)], two, [34, 32])
    yield "valid_small", small
    yield "valid_v2", gguf([kv("general.name", STRING, "x")], two, [34, 32], version=2)
    yield "valid_empty", gguf([], [], [])
    yield "valid_every_type", gguf(every_type_kvs(), [], [])
    yield "valid_align64", gguf([kv("general.alignment", U32, 64)], [("a", [3], 0), ("b", [7], 1)], [12, 14],
                                align=64)
    yield "valid_kquant", gguf([], [("w", [256, 2], 12), ("n", [256], 0), ("h", [8, 2, 2, 2], 1)], [288, 1024, 128])
    yield "bad_magic", b"GGUX" + small[4:]
    yield "bad_version1", small[:4] + struct.pack("<I", 1) + small[8:]
    yield "bad_bigendian", small[:4] + struct.pack("<I", 0x03000000) + small[8:]
    yield "bad_truncated", small[: len(small) - 1]
    yield "bad_truncated_header", small[:20]
    yield "bad_nested_array", gguf([kv("x", ARRAY, (U8, [1]))], [], [])[:-13] + struct.pack("<IQ", ARRAY, 1) + b"\0"
    yield "bad_bool", gguf([kv("b", BOOL, 2)], [], [])
    yield "bad_dup_key", gguf([kv("k", U8, 1), kv("k", U8, 2)], [], [])
    yield "bad_dup_tensor", gguf([], [("w", [8], 0), ("w", [8], 0)], [32, 32])
    yield "bad_ndims", gguf([], [("w", [1, 1, 1, 1, 1], 0)], [4])
    yield "bad_block_multiple", gguf([], [("w", [16], 8)], [34])
    yield "bad_align_type", gguf([kv("general.alignment", I32, 32)], [("w", [8], 0)], [32])
    yield "bad_align_value", gguf([kv("general.alignment", U32, 48)], [], [])
    yield "bad_tensor_type", gguf([], [("w", [8], 99)], [32])
    yield "bad_offset", gguf([], [("a", [8], 0), ("b", [8], 0)], [32, 32]).replace(
        struct.pack("<IQ", 0, 32), struct.pack("<IQ", 0, 40))
    yield "bad_huge_count", b"GGUF" + struct.pack("<IQQ", 3, 2**62, 2**62)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        assert len(data) < 4096, name
        with open(os.path.join(out, name + ".seed"), "wb") as f:
            f.write(data)
    print(f"wrote {len(list(seeds()))} seeds to {out}")


if __name__ == "__main__":
    main()
