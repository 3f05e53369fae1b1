#!/usr/bin/env python3
"""Generates hash-chain.json and checkpoint.json independently of the TypeScript code.

Run from this directory: python3 generate.py && npx prettier --write *.json
(prettier only re-wraps short arrays; the values are what this script computed).
Uses only the Python standard library for hashing and JSON (json.dumps with sort_keys=True,
separators=(',', ':'), ensure_ascii=False equals RFC 8785 JCS for objects whose keys are ASCII and
whose values are strings, integers, booleans and nested objects/arrays of those), and the
`cryptography` package for Ed25519. The signature is cross-checked with `openssl pkeyutl` when
OpenSSL >= 3 is on PATH.
"""
import base64
import hashlib
import json
import os
import subprocess
import tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

GENESIS = "0" * 64


def jcs(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev, seq, event):
    return hashlib.sha256(f"{prev}\n{seq}\n{jcs(event)}".encode("utf-8")).hexdigest()


SESSION = "0190b0a2-6b3c-7000-8000-00000000a001"
APPROVAL = "0190b0a2-6f00-7000-8000-00000000b001"
EXEC = "0190b0a2-7a00-7000-8000-00000000c001"
GRANT = "0190b0a2-7900-7000-8000-00000000d001"
IMAGE = "sha256:" + "ab" * 32

events = [
    {
        "specversion": "1.0",
        "id": "0190b0a2-6b3c-7d41-8a1e-3f2b5c6d7e80",
        "source": "palisade/channels",
        "type": "chat.message.received",
        "subject": SESSION,
        "time": "2024-07-15T10:30:00.000Z",
        "datacontenttype": "application/json",
        "dataschema": "palisade:chat.message.received/v1",
        "data": {
            "channel": "talk-main",
            "conversation": "k3x9w2ab",
            "sender": "alice.smith",
            "senderName": "Alice Smith",
            "messageId": "4711",
            "text": "Grüße! Can you run \"ls -la\" in /srv?\nDanke 👋",
            "level": "admin",
        },
        "correlationid": "0190b0a2-6b3c-7d41-8a1e-3f2b5c6d7e80",
        "actortype": "sender",
        "actorid": "alice.smith",
        "trust": "trusted",
    },
    {
        "specversion": "1.0",
        "id": "0190b0a2-6f00-7abc-9def-0123456789ab",
        "source": "palisade/approvals",
        "type": "exec.approval.requested",
        "subject": APPROVAL,
        "time": "2024-07-15T10:30:01.250Z",
        "datacontenttype": "application/json",
        "dataschema": "palisade:exec.approval.requested/v1",
        "data": {
            "approval": APPROVAL,
            "session": SESSION,
            "command": "rm -rf /srv/tmp/cache",
            "cwd": "/srv",
            "env": {"LANG": "C.UTF-8", "HOME": "/home/sandbox"},
            "image": IMAGE,
            "reasons": ["dangerous floor: rm -rf", "path outside workspace"],
            "mode": "smart",
            "deadline": "2024-07-15T10:35:01.250Z",
            "channel": "talk-main",
            "conversation": "k3x9w2ab",
        },
        "correlationid": "0190b0a2-6b3c-7d41-8a1e-3f2b5c6d7e80",
        "causationid": "0190b0a2-6b3c-7d41-8a1e-3f2b5c6d7e80",
        "actortype": "service",
        "actorid": "approvals",
        "trust": "trusted",
    },
    {
        "specversion": "1.0",
        "id": "0190b0a2-7a00-7fff-bfff-fedcba987654",
        "source": "palisade/sandbox-exec",
        "type": "exec.finished",
        "subject": EXEC,
        "time": "2024-07-15T10:31:04.999Z",
        "datacontenttype": "application/json",
        "dataschema": "palisade:exec.finished/v1",
        "data": {
            "exec": EXEC,
            "exitCode": 137,
            "durationMs": 30000,
            "stdoutBytes": 1048576,
            "stderrBytes": 0,
            "truncated": True,
            "killed": "timeout",
            "stdout": "line 1\n\tline 2 \u0001 ctrl\n",
        },
        "correlationid": "0190b0a2-6b3c-7d41-8a1e-3f2b5c6d7e80",
        "causationid": "0190b0a2-6f00-7abc-9def-0123456789ab",
        "actortype": "service",
        "actorid": "sandbox-exec",
        "trust": "untrusted",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    },
]
# EVENTS stream sequences: gaps are normal (other subjects' events sit in between).
stream_seqs = [1, 2, 5]

rows = []
prev = GENESIS
for ledger_seq, (stream_seq, event) in enumerate(zip(stream_seqs, events), start=1):
    h = chain_hash(prev, stream_seq, event)
    rows.append({"seq": ledger_seq, "streamSeq": stream_seq, "prevHash": prev, "jcs": jcs(event), "event": event, "hash": h})
    prev = h

# A stream sequence beyond 2^53: must be hashed as its exact decimal digits.
big_seq = "9007199254740993"
big = {"prevHash": GENESIS, "streamSeq": big_seq, "eventIndex": 0, "hash": chain_hash(GENESIS, big_seq, events[0])}

hash_chain = {
    "description": "Three ledger rows: hash = hex(sha256(prev_hash + \"\\n\" + stream_seq + \"\\n\" + JCS(event))), "
    "prev_hash of the first row = 64 zeros.",
    "producedBy": "libs/contracts/test-vectors/generate.py: Python hashlib.sha256 and json.dumps(sort_keys=True, "
    "separators=(',', ':'), ensure_ascii=False) as JCS (equivalent here: ASCII keys; string, integer and boolean "
    "values). Independent of the TypeScript implementation.",
    "genesisHash": GENESIS,
    "rows": rows,
    "bigStreamSeq": big,
}

# RFC 8032 section 7.1, TEST 1 key: public, well known, for tests only.
seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
key = Ed25519PrivateKey.from_private_bytes(seed)
pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
assert pub.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
keyid = hashlib.sha256(pub).hexdigest()
checkpoint = {"seq": 3, "hash": rows[-1]["hash"], "time": "2024-07-15T10:31:05.000Z", "keyid": keyid}
payload = jcs(checkpoint)
signature = key.sign(payload.encode("utf-8"))
# RFC 8032 TEST 1 signature of the empty message, proving the key is the one the RFC names.
assert key.sign(b"").hex().startswith("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")

openssl_check = "not run (openssl >= 3 not found)"
try:
    with tempfile.TemporaryDirectory() as d:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        open(os.path.join(d, "k.pem"), "wb").write(pem)
        open(os.path.join(d, "m"), "wb").write(payload.encode("utf-8"))
        out = subprocess.run(
            ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", os.path.join(d, "k.pem"), "-in", os.path.join(d, "m")],
            check=True, capture_output=True,
        ).stdout
        assert out == signature, "openssl and cryptography disagree"
        openssl_check = "openssl pkeyutl -sign -rawin produced the same signature"
except (FileNotFoundError, subprocess.CalledProcessError):
    pass

checkpoint_vector = {
    "description": "Checkpoint signature: Ed25519 over the UTF-8 bytes of JCS({seq, hash, time, keyid}); keyid = hex "
    "sha256(raw 32-byte public key). The hash is the last row of hash-chain.json.",
    "producedBy": "libs/contracts/test-vectors/generate.py: Python cryptography Ed25519 and json.dumps(sort_keys=True, "
    "separators=(',', ':')) as JCS; " + openssl_check + ".",
    "key": {
        "note": "RFC 8032 section 7.1 TEST 1 key. Public knowledge: never use it for anything but tests.",
        "seedHex": seed.hex(),
        "publicKeyHex": pub.hex(),
    },
    "keyid": keyid,
    "checkpoint": checkpoint,
    "payload": payload,
    "signatureBase64": base64.b64encode(signature).decode("ascii"),
}

with open("hash-chain.json", "w", encoding="utf-8") as f:
    json.dump(hash_chain, f, ensure_ascii=False, indent=2)
    f.write("\n")
with open("checkpoint.json", "w", encoding="utf-8") as f:
    json.dump(checkpoint_vector, f, ensure_ascii=False, indent=2)
    f.write("\n")
print("wrote hash-chain.json and checkpoint.json;", openssl_check)
