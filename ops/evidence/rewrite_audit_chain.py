#!/usr/bin/env python3
"""What an operator with write access to a copy of a replica file could do to its audit log:
edit one entry and recompute the hash chain from there, so that the chain alone verifies again.

    rewrite_audit_chain.py REPLICA.sqlite SEQ "new detail"

The chain is rebuilt from docs/STORE.md's definition, independently of Hanaro's code:
hash = SHA-256(prev_hash || for each of at, actor, action, target, outcome, detail: "<utf-8 length>:" || utf-8).
`hanaro audit verify --db` must still call the copy broken: the entry's chain hash is a leaf of the
agency's transparency log, fixed by checkpoints its witnesses cosigned (docs/EVIDENCE.md).
"""
import hashlib
import sqlite3
import sys


def chain_hash(previous, row):
    h = hashlib.sha256()
    h.update(previous)
    for field in (str(row["at"]), row["actor"], row["action"], row["target"], row["outcome"], row["detail"]):
        data = field.encode("utf-8")
        h.update(f"{len(data)}:".encode("ascii"))
        h.update(data)
    return h.digest()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, seq, detail = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute("SELECT * FROM audit ORDER BY seq")]
    previous = bytes(32)
    rewritten = 0
    for row in rows:
        if row["seq"] == seq:
            row["detail"] = detail
        if row["seq"] >= seq:
            new = chain_hash(previous, row)
            db.execute("UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?", (row["detail"], previous, new, row["seq"]))
            rewritten += 1
            previous = new
        else:
            previous = bytes(row["hash"])
            if chain_hash(bytes(row["prev_hash"]), row) != previous:
                sys.exit(f"entry {row['seq']} does not chain in the original: is this a Hanaro replica?")
    db.commit()
    print(f"rewrote entry {seq} and recomputed {rewritten} chain hashes")


if __name__ == "__main__":
    main()
