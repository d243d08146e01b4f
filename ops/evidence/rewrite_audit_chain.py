#!/usr/bin/env python3
"""What an operator with write access to a copy of a replica file could do to its audit log:
edit one entry and recompute the hash chain from there, so that the chain alone verifies again.

    rewrite_audit_chain.py REPLICA.sqlite SEQ "new detail" [--cover-log]

With --cover-log it also rewrites the data of the audit leaves in the file's copy of the agency's
log (log_leaf.entry) to match the new chain, as someone covering their tracks would; the leaf
hashes, fixed by signed checkpoints, cannot be made to match.

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
    args = [a for a in sys.argv[1:] if a != "--cover-log"]
    cover = "--cover-log" in sys.argv[1:]
    if len(args) != 3:
        sys.exit(__doc__)
    path, seq, detail = args[0], int(args[1]), args[2]
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
            if cover:
                entry = b"hanaro/audit/v1\n" + str(row["seq"]).encode() + b"\n" + new
                db.execute("UPDATE log_leaf SET entry = ? WHERE ref = ?", (entry, f"audit:{row['seq']}"))
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
