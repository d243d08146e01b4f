#!/usr/bin/env python3
# FTS5 insert cost outside Hanaro (Python's sqlite3 on the system SQLite): 30,000 documents of
# ~160 Hangul grams (a title of 12, a summary of 150) into a contentless `ascii` table shaped like
# program_fts, in transactions of 1,000, under FTS5's merge and page-size settings.
# Usage: python3 ops/bench/fts5-insert.py   (figures in docs/BENCHMARKS.md, session 7)
import sqlite3, random, time, os, sys
random.seed(1)
syll = [chr(c) for c in range(0xAC00, 0xAC00+400)]
vocab = [a+b for a in syll[:60] for b in syll[:60]]
docs = []
for i in range(30000):
    t = " ".join(random.choice(vocab) for _ in range(12))
    s = " ".join(random.choice(vocab) for _ in range(150))
    docs.append((t, s))
def run(label, setup):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "fts5-insert-bench.db")
    for suf in ["", "-wal", "-shm"]:
        try: os.remove(path+suf)
        except: pass
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL"); db.execute("PRAGMA cache_size=-49152")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(title_grams, summary_grams, content='', tokenize='ascii')")
    for s in setup: db.execute(s)
    t0 = time.time()
    for b in range(0, len(docs), 1000):
        db.execute("BEGIN")
        for i in range(b, b+1000):
            db.execute("INSERT INTO f(rowid, title_grams, summary_grams) VALUES (?,?,?)", (i+1, docs[i][0], docs[i][1]))
        db.execute("COMMIT")
    dt = time.time() - t0
    t1 = time.time()
    for _ in range(50):
        db.execute("SELECT count(*) FROM f WHERE f MATCH ?", ('"%s"' % vocab[5],)).fetchone()
    q = (time.time()-t1)/50
    print(f"{label}: {len(docs)/dt:.0f} docs/s ({dt/len(docs)*1e6:.0f} us/doc); count query {q*1000:.2f} ms; size {os.path.getsize(path)//1024} KiB", flush=True)
run("default", [])
run("automerge 8", ["INSERT INTO f(f, rank) VALUES('automerge', 8)"])
run("pgsz 4050", ["INSERT INTO f(f, rank) VALUES('pgsz', 4050)"])
run("automerge 8 + pgsz 4050", ["INSERT INTO f(f, rank) VALUES('automerge', 8)", "INSERT INTO f(f, rank) VALUES('pgsz', 4050)"])
run("crisismerge 64", ["INSERT INTO f(f, rank) VALUES('crisismerge', 64)"])

for suf in ['', '-wal', '-shm']:
    try: os.remove(os.path.join(os.environ.get('TMPDIR', '/tmp'), 'fts5-insert-bench.db') + suf)
    except OSError: pass
