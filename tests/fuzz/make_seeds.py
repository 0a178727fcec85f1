#!/usr/bin/env python3
"""make_seeds.py - (re)write the hand-made seed corpora under tests/fuzz/corpus
(the other files there are inputs that once found a bug: keep them).

Run from anywhere: python3 tests/fuzz/make_seeds.py. Deterministic: the same
files every time. YAML seeds are copied from tests/data/pin (the repo's own
test data); nothing comes from ../shared (see run_fuzz.sh for that).
"""
import gzip, hashlib, io, json, os, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tar_of(entries):
    """entries: list of (name, bytes | ('sym', target) | ('hard', target))."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1577836800
            if isinstance(data, tuple):
                ti.type = tarfile.SYMTYPE if data[0] == "sym" else tarfile.LNKTYPE
                ti.linkname = data[1]
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return out.getvalue()


LAYER = tar_of([("etc/hello.txt", b"hello\n")])
LAYER_GZ = gzip.compress(LAYER, mtime=0)
CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": [sha(LAYER)]},
                     "config": {"Cmd": ["/bin/true"]}}, separators=(",", ":")).encode()


def oci_image(layer, layer_mt):
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": sha(CONFIG), "size": len(CONFIG)},
                      "layers": [{"mediaType": layer_mt, "digest": sha(layer), "size": len(layer)}]},
                     separators=(",", ":")).encode()
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "digest": sha(man), "size": len(man),
                                       "annotations": {"org.opencontainers.image.ref.name": "v1"}}]},
                       separators=(",", ":")).encode()
    blobs = [("blobs/sha256/" + sha(b)[7:], b) for b in (CONFIG, layer, man)]
    return tar_of([("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)] + blobs)


def docker_image(extra=()):
    man = json.dumps([{"Config": "cfg.json", "RepoTags": ["app:v1"], "Layers": ["l1/layer.tar"]}]).encode()
    return tar_of([("manifest.json", man), ("cfg.json", CONFIG), ("l1/layer.tar", LAYER)] + list(extra))


def image_tar():
    oci = oci_image(LAYER_GZ, "application/vnd.oci.image.layer.v1.tar+gzip")
    put("fuzz_image_tar", "oci.tar", oci)
    put("fuzz_image_tar", "oci-raw.tar", oci_image(LAYER, "application/vnd.oci.image.layer.v1.tar"))
    put("fuzz_image_tar", "oci.tar.gz", gzip.compress(oci, mtime=0))
    dock = docker_image()
    put("fuzz_image_tar", "docker.tar", dock)
    put("fuzz_image_tar", "docker-links.tar", docker_image([
        ("sym/up", ("sym", "../../etc/passwd")), ("hard", ("hard", "nowhere")),
        ("../escape.tar", b"x"), ("/abs.json", b"{}")]))
    try:
        import zstandard  # optional
        put("fuzz_image_tar", "oci.tar.zst", zstandard.ZstdCompressor().compress(oci))
    except ImportError:
        pass


def image_json():
    cfg = CONFIG.decode().replace(sha(LAYER), "$D2")
    # docker save: piece 1 is the config (p1), piece 2 the layer (p2)
    put("fuzz_image_json", "docker", "\x00" + json.dumps(
        [{"Config": "p1", "RepoTags": ["app:v1"], "Layers": ["p2"]}]) + "\n--\n" + cfg + "\n--\n"
        + LAYER.decode("latin-1"))
    put("fuzz_image_json", "docker-compute", "\x06" + json.dumps(
        [{"Config": "p1", "RepoTags": ["app:v1", "app:v2"], "Layers": ["p2", "p2"]}]) + "\n--\n"
        + cfg.replace('"$D2"]', '"$D2","$D2"]') + "\n--\n" + LAYER.decode("latin-1"))
    man = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
           '"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$D2","size":$S2},'
           '"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$D3","size":$S3}]}')
    idx = ('{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",'
           '"digest":"$D1","size":$S1,"platform":{"architecture":"amd64","os":"linux"},'
           '"annotations":{"org.opencontainers.image.ref.name":"app:v1"}}]}')
    body = idx + "\n--\n" + man + "\n--\n" + cfg.replace("$D2", "$D3") + "\n--\n" + LAYER.decode("latin-1")
    put("fuzz_image_json", "oci", "\x01" + body)
    put("fuzz_image_json", "oci-compute", "\x07" + body)
    nested = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
              '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$D2","size":$S2,'
              '"platform":{"architecture":"arm64","os":"linux"}}]}')
    put("fuzz_image_json", "oci-index", "\x01" + idx.replace('manifest.v1', 'index.v1') + "\n--\n" + nested
        + "\n--\n" + man.replace("$D3", "$D4").replace("$S3", "$S4").replace("$D2", "$D3").replace("$S2", "$S3")
        + "\n--\n" + cfg.replace("$D2", "$D4") + "\n--\n" + LAYER.decode("latin-1"))
    put("fuzz_image_json", "absurd", "\x01" + '{"schemaVersion":2,"manifests":[{"mediaType":'
        '"application/vnd.oci.image.manifest.v1+json","digest":"$D1","size":4611686018427387904}]}'
        + "\n--\n" + man)
    put("fuzz_image_json", "deep", "\x00" + "[" * 3000 + "]" * 3000)


def wwwauth():
    seeds = {
        "bearer": 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app:pull,push"',
        "basic": 'Basic realm="Registry Realm"',
        "two": 'Basic realm="x", Bearer realm="https://a/t",service="s",error="insufficient_scope"',
        "escapes": 'Bearer realm="a\\"b,c", service=unquoted, x="\\\\"',
        "token68": 'Negotiate abc123==, Basic realm=r',
        "empty": '',
        "sloppy": 'Bearer realm=https://auth.docker.io/token,service=registry.docker.io',
    }
    for k, v in seeds.items():
        put("fuzz_wwwauth", k, v)


def registry_resp():
    # a Link value line, a Location line, then an error body
    seeds = {
        "upload": "\n/v2/app/blobs/uploads/abc?_state=x\n",
        "tags": "</v2/app/tags/list?last=v9&n=1000>; rel=\"next\"\n\n",
        "error": "\n\n{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"x\"},{\"code\":\"BLOB_UNKNOWN\"}]}",
        "redirect": "\nhttps://cdn.example.com/blob?sig=secret\n",
        "absolute": "<http://127.0.0.1:5000/v2/app/tags/list?n=1>; rel=\"next\", <x>; rel=\"prev\"\n"
                    "http://127.0.0.1:5000/v2/app/blobs/sha256:00\n",
    }
    for k, v in seeds.items():
        put("fuzz_registry_resp", k, v)


def tagname():
    seeds = ["{sha}", "{sha:7}", "v{version}-{build}", "{major}.{minor}.{patch}", "{date:%Y%m%d}-{sha:8}",
             "{branch}-{sha}", "{date:%Y.%m.%d-%H%M%S}", "{unknown}", "{sha:0}", "{{sha}", "latest",
             "x" * 200 + "{sha}", "{date:%s}", "{version}+meta", "{branch}{branch}{branch}{branch}"]
    for i, s in enumerate(seeds):
        put("fuzz_tagname", "t%02d" % i, s)


def yaml():
    src = os.path.join(ROOT, "tests", "data", "pin")
    for sub in ("input", "bad"):
        for dp, _, files in os.walk(os.path.join(src, sub)):
            for f in files:
                rel = os.path.relpath(os.path.join(dp, f), src).replace("/", "_")
                data = open(os.path.join(dp, f), "rb").read()
                for t in ("fuzz_yamlrefs", "fuzz_pin_rewrite"):
                    # fuzz_yamlrefs: first byte odd = a kustomization
                    k = b"\x01" if t == "fuzz_yamlrefs" and "kustomization" in f else b""
                    put(t, rel, k + data)


def record():
    def line(obj, prev):
        obj = dict(obj)
        obj["prev"] = prev
        return json.dumps(obj, separators=(",", ":")).encode()
    base = {"time": "2026-11-23T12:00:00Z", "repository": "127.0.0.1:5000/app", "tag": "v1",
            "digest": "sha256:" + "1" * 64, "aliases": [], "git": {"commit": "0" * 40}}
    l1 = line(base, None)
    l2 = line(dict(base, tag="v2"), sha(l1))
    l3 = line(dict(base, tag="v3", aliases=["latest"]), sha(l2))
    put("fuzz_record", "chain", l1 + b"\n" + l2 + b"\n" + l3 + b"\n")
    put("fuzz_record", "torn", l1 + b"\n" + l2[:40])
    put("fuzz_record", "notjson", l1 + b"\n[1,2]\n\n{\"a\":\n")
    put("fuzz_record", "crlf", l1 + b"\r\n" + l2 + b"\r\n")


if __name__ == "__main__":
    # (over)writes its own seeds only: inputs that found bugs stay
    image_tar(); image_json(); wwwauth(); registry_resp(); tagname(); yaml(); record()
