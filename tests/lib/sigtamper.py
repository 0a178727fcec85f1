#!/usr/bin/env python3
"""sigtamper.py - what an attacker with push rights does to signatures in a
registry, for tests/integration/test_sign*.sh (plain HTTP, loopback only).

  sigtamper.py BASE REPO OP ARGS...   (BASE: http://127.0.0.1:PORT)

  payload  D SUFFIX      change the first layer's bytes of sha256-<D>.SUFFIX,
                         keeping its signature annotation
  drop-annotation D SUFFIX  remove the signature annotation of every layer
  annotate D SUFFIX K V  set annotation K of the first layer to V (JSON string)
  swap     D SUFFIX BLOB point the first layer at another blob (same repository)
  move-referrers D1 D2   re-point D1's bundle referrers at D2 (subject rewritten)
                         and list them in D2's fallback tag
  bundle-payload D       change the statement inside D's first bundle referrer,
                         keeping its signature, and list the result instead
Python stdlib only.
"""
import base64
import hashlib
import json
import sys
import urllib.request

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
SIG = "dev.cosignproject.cosign/signature"


def req(method, url, data=None, ctype=None, accept=None):
    r = urllib.request.Request(url, data=data, method=method)
    if ctype:
        r.add_header("Content-Type", ctype)
    r.add_header("Accept", accept or MT_MANIFEST + ", " + MT_INDEX)
    with urllib.request.urlopen(r, timeout=30) as resp:
        return resp.read(), resp.headers


def get_manifest(base, repo, ref):
    body, _ = req("GET", "%s/v2/%s/manifests/%s" % (base, repo, ref))
    return json.loads(body)


def put_manifest(base, repo, ref, doc, mt=MT_MANIFEST):
    data = json.dumps(doc, separators=(",", ":")).encode()
    req("PUT", "%s/v2/%s/manifests/%s" % (base, repo, ref), data, mt)
    return "sha256:" + hashlib.sha256(data).hexdigest(), len(data)


def get_blob(base, repo, digest):
    return req("GET", "%s/v2/%s/blobs/%s" % (base, repo, digest), accept="*/*")[0]


def put_blob(base, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _, h = req("POST", "%s/v2/%s/blobs/uploads/" % (base, repo), b"")
    loc = h["Location"]
    if loc.startswith("/"):
        loc = base + loc
    loc += ("&" if "?" in loc else "?") + "digest=" + digest
    req("PUT", loc, data, "application/octet-stream")
    return digest


def tag(d, suffix=None):
    return "sha256-" + d.split(":", 1)[1] + ("." + suffix if suffix else "")


def main(argv):
    base, repo, op, args = argv[0], argv[1], argv[2], argv[3:]
    if op == "payload":
        m = get_manifest(base, repo, tag(args[0], args[1]))
        layer = m["layers"][0]
        data = get_blob(base, repo, layer["digest"]).replace(b"critical", b"Critical", 1)
        if args[1] == "att":  # change the statement inside the envelope
            env = json.loads(data)
            env["payload"] = base64.b64encode(base64.b64decode(env["payload"]) + b" ").decode()
            data = json.dumps(env).encode()
        layer["digest"], layer["size"] = put_blob(base, repo, data), len(data)
        put_manifest(base, repo, tag(args[0], args[1]), m)
    elif op == "drop-annotation":
        m = get_manifest(base, repo, tag(args[0], args[1]))
        for layer in m["layers"]:
            layer.get("annotations", {}).pop(SIG, None)
        put_manifest(base, repo, tag(args[0], args[1]), m)
    elif op == "annotate":
        m = get_manifest(base, repo, tag(args[0], args[1]))
        m["layers"][0].setdefault("annotations", {})[args[2]] = json.loads(args[3])
        put_manifest(base, repo, tag(args[0], args[1]), m)
    elif op == "swap":
        m = get_manifest(base, repo, tag(args[0], args[1]))
        m["layers"][0]["digest"] = args[2]
        m["layers"][0]["size"] = len(get_blob(base, repo, args[2]))
        put_manifest(base, repo, tag(args[0], args[1]), m)
    elif op == "move-referrers":
        idx = get_manifest(base, repo, tag(args[0]))
        subj_head = req("HEAD", "%s/v2/%s/manifests/%s" % (base, repo, args[1]))[1]
        out = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": []}
        for d in idx["manifests"]:
            m = get_manifest(base, repo, d["digest"])
            m["subject"] = {"mediaType": subj_head["Content-Type"], "digest": args[1],
                            "size": int(subj_head["Content-Length"])}
            data = json.dumps(m, separators=(",", ":")).encode()
            nd = "sha256:" + hashlib.sha256(data).hexdigest()
            req("PUT", "%s/v2/%s/manifests/%s" % (base, repo, nd), data, MT_MANIFEST)
            out["manifests"].append(dict(d, digest=nd, size=len(data)))
        put_manifest(base, repo, tag(args[1]), out, MT_INDEX)
    elif op == "bundle-payload":
        idx = get_manifest(base, repo, tag(args[0]))
        d = idx["manifests"][0]
        m = get_manifest(base, repo, d["digest"])
        b = json.loads(get_blob(base, repo, m["layers"][0]["digest"]))
        st = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
        st["predicate"] = {"tampered": True}
        b["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
        data = json.dumps(b).encode()
        m["layers"][0]["digest"], m["layers"][0]["size"] = put_blob(base, repo, data), len(data)
        data = json.dumps(m, separators=(",", ":")).encode()
        nd = "sha256:" + hashlib.sha256(data).hexdigest()
        req("PUT", "%s/v2/%s/manifests/%s" % (base, repo, nd), data, MT_MANIFEST)
        idx["manifests"][0] = dict(d, digest=nd, size=len(data))
        put_manifest(base, repo, tag(args[0]), idx, MT_INDEX)
    else:
        sys.exit("sigtamper: unknown op %r" % op)


if __name__ == "__main__":
    main(sys.argv[1:])
