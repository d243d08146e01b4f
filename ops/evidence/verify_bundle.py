#!/usr/bin/env python3
"""An independent check of a Hanaro evidence bundle, written from docs/EVIDENCE.md and the C2SP
specs (signed-note, tlog-checkpoint, tlog-cosignature) and RFC 9162, not from Hanaro's code.

    verify_bundle.py BUNDLE [--agencies DIR]

Checks: the bundle's own signed-note signature by the exporting agency; every checkpoint's
signature by its log's agency and at least one witness cosignature (cosignature/v1); every log
entry's RFC 6962 inclusion proof against its checkpoint's root; every entry is a version envelope
of the bundle's record. (The versions' own Ed25519 signatures over their envelopes are checked by
`hanaro evidence verify`; an auditor can check one by hand with openssl, docs/EVIDENCE.md.)
Without --agencies the bundle is checked under the keys it lists, which prove nothing (anyone can
list keys of their own): it is then never valid. Exit 0 valid, 1 invalid or not pinned. Needs the
`cryptography` package.
"""
import base64
import hashlib
import json
import os
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ED25519, COSIGNATURE = 0x01, 0x04


def fail(message):
    print(f"invalid: {message}")
    sys.exit(1)


def parse_key(text):
    """<name>+<hex key id>+<base64(0x01 || key)> -> (name, public key bytes)."""
    name, key_id, encoded = text.split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if raw[0] != ED25519 or len(raw) != 33:
        raise ValueError("not an Ed25519 key")
    if key_hash(name, ED25519, raw[1:]) != bytes.fromhex(key_id):
        raise ValueError("key id does not match the key")
    return name, raw[1:]


def key_hash(name, kind, public):
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def split_note(note):
    """A signed note -> (text, [(name, key id, signature bytes)])."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise ValueError("not a signed note")
    text, signatures = note[: cut + 1], []
    for line in note[cut + 2 :].splitlines():
        match = re.fullmatch("\u2014 (\\S+) ([A-Za-z0-9+/=]+)", line)
        if not match:
            raise ValueError(f"bad signature line {line[:40]!r}")
        raw = base64.b64decode(match.group(2), validate=True)
        signatures.append((match.group(1), raw[:4], raw[4:]))
    return text, signatures


def verify(public, signature, message):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        return True
    except InvalidSignature:
        return False


def signers(note, keys, author):
    """The names whose signature on `note` verifies: (author signed?, [cosigners])."""
    text, signatures = split_note(note)
    signed, cosigners = False, []
    for name, key_id, raw in signatures:
        for public in keys.get(name, []):
            if name == author and key_id == key_hash(name, ED25519, public):
                if not verify(public, raw, text.encode()):
                    raise ValueError(f"the signature of {name} does not verify")
                signed = True
            elif name != author and key_id == key_hash(name, COSIGNATURE, public) and len(raw) == 72:
                timestamp = int.from_bytes(raw[:8], "big")
                message = f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()
                if not verify(public, raw[8:], message):
                    raise ValueError(f"the cosignature of {name} does not verify")
                cosigners.append(name)
    return text, signed, cosigners


def inclusion_root(leaf, index, size, proof):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        raise ValueError("index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def load_keys(bundle, agencies):
    keys = {}
    lines = bundle["keys"]
    if agencies:
        lines = []
        for name in sorted(os.listdir(agencies)):
            if name.endswith(".yaml"):
                with open(os.path.join(agencies, name), encoding="utf-8") as f:
                    lines += re.findall(r"[a-z]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]{44}", f.read())
    for line in lines:
        name, public = parse_key(line.split(" ")[0])
        keys.setdefault(name, []).append(public)
    return keys


def main():
    args = sys.argv[1:]
    agencies = None
    if "--agencies" in args:
        at = args.index("--agencies")
        agencies = args[at + 1]
        del args[at : at + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    with open(args[0], encoding="utf-8") as f:
        note = f.read()
    try:
        outer_text, _ = split_note(note)
        if not outer_text.startswith("hanaro-evidence/v1\n"):
            fail("not a hanaro-evidence/v1 bundle")
        bundle = json.loads(outer_text[len("hanaro-evidence/v1\n") :])
        keys = load_keys(bundle, agencies)
        _, signed, _ = signers(note, keys, bundle["exported_by"])
        if not signed:
            fail(f"the bundle is not signed by {bundle['exported_by']}")
        print(f"bundle of {bundle['record']} signed by {bundle['exported_by']}")
        kind, owner, local = bundle["record"].split("/", 2)
        for log in bundle["logs"]:
            author = log["origin"].split("/")[1]
            text, signed, cosigners = signers(log["checkpoint"], keys, author)
            if not signed or not cosigners:
                fail(f"the checkpoint of {log['origin']} is not signed by {author} and cosigned by a witness")
            lines = text.split("\n")
            if lines[0] != log["origin"]:
                fail("the checkpoint's origin is not the log's")
            size, root = int(lines[1]), base64.b64decode(lines[2], validate=True)
            for entry in log["entries"]:
                data = base64.b64decode(entry["entry"], validate=True)
                if not data.startswith(b"hanaro/version/v1\n") or local.encode() not in data:
                    fail(f"entry {entry['index']} is not a version envelope of {bundle['record']}")
                leaf = hashlib.sha256(b"\x00" + data).digest()
                proof = [base64.b64decode(p, validate=True) for p in entry["proof"]]
                if inclusion_root(leaf, entry["index"], size, proof) != root:
                    fail(f"entry {entry['index']} of {log['origin']} is not included in its checkpoint")
            print(f"log {log['origin']}: {len(log['entries'])} entries included in a checkpoint of {size} leaves, "
                  f"signed by {author}, cosigned by {', '.join(cosigners)}")
        if not bundle["logs"] or not bundle["versions"]:
            fail("the bundle holds no log entry or no version")
    except (ValueError, KeyError, IndexError, TypeError) as error:
        fail(str(error))
    if not agencies:
        fail("consistent under the keys the bundle lists, but those prove nothing; give --agencies DIR (the federation's agency files)")
    print("valid")


if __name__ == "__main__":
    main()
