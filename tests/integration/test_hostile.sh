#!/usr/bin/env bash
# test_hostile.sh - hostile input to `tagseal push`: decompression bombs,
# layers larger than declared, absurd counts and sizes in JSON, path tricks
# in tar entry names and manifests, symlinked output paths. Each ends with
# exit 2, one stderr line naming the thing at fault, peak memory that does
# not grow with the input (a 1 GiB bomb stays within a fixed bound), and no
# tag in the registry. Images are built here with python (tarfile); nothing
# is ever unpacked, so nothing outside $T can be touched.
#
# Also: names from the image never put control characters in a message,
# symlinked output paths are refused before anything is pushed, and a layer
# cache hit never stands in for layer bytes that do not match their diff_id.
. "$(dirname "$0")/../lib/common.sh"
. "$TS_LIB_DIR/registry.sh"
ts_need skopeo jq python3 zstd gzip
[ -x /usr/bin/time ] || ts_skip "/usr/bin/time not installed"

registry_start
export XDG_CACHE_HOME=$T/cache

# The image builder: python3 $T/mk.py KIND OUT.
cat >"$T/mk.py" <<'PY'
# mk.py KIND OUT: write a hostile image named KIND to OUT (see test_hostile.sh).
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

def sha(b): return "sha256:" + hashlib.sha256(b).hexdigest()

def tar_bytes(entries):
    out = io.BytesIO()
    write_tar(out, entries)
    return out.getvalue()

def write_tar(f, entries):
    with tarfile.open(fileobj=f, mode="w|", format=tarfile.GNU_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1577836800
            if isinstance(data, tuple) and data[0] in ("sym", "hard"):
                ti.type = tarfile.SYMTYPE if data[0] == "sym" else tarfile.LNKTYPE
                ti.linkname = data[1]
                t.addfile(ti)
            elif isinstance(data, tuple) and data[0] == "fill":  # ("fill", size, byte)
                ti.size = data[1]
                t.addfile(ti, Filler(data[1], data[2]))
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))

class Filler:
    def __init__(self, n, byte): self.n, self.b = n, byte
    def read(self, k=-1):
        k = self.n if k < 0 else min(k, self.n)
        self.n -= k
        return self.b * k

LAYER = tar_bytes([("etc/hello.txt", b"hello\n")])
def config(diff_ids):
    return json.dumps({"architecture": "amd64", "os": "linux",
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()

def docker(layers, members, extra=()):
    """layers: names in manifest.json; members: (name, data) put in the tarball."""
    cfg = config([sha(LAYER)] * len(layers))
    man = json.dumps([{"Config": "cfg.json", "RepoTags": ["app:v1"], "Layers": layers}]).encode()
    return [("manifest.json", man), ("cfg.json", cfg)] + list(members) + list(extra)

def compressed(out, entries, tool):
    with open(out, "wb") as f:
        p = subprocess.Popen(tool, stdin=subprocess.PIPE, stdout=f)
        write_tar(p.stdin, entries)
        p.stdin.close()
        if p.wait(): sys.exit("compressor failed")

kind, out = sys.argv[1], sys.argv[2]
GiB = int(os.environ.get("TS_HOSTILE_GIB", 1 << 30))  # smaller under valgrind
if kind == "bomb-manifest-zstd":   # manifest.json that inflates to 1 GiB
    compressed(out, [("manifest.json", ("fill", GiB, b" "))], ["zstd", "-q", "-1", "-c"])
elif kind == "bomb-manifest-gzip":
    compressed(out, [("manifest.json", ("fill", GiB // 4, b" "))], ["gzip", "-1", "-c"])
elif kind == "bomb-member-zstd":   # a valid image plus a 4 GiB member nobody references
    compressed(out, docker(["l.tar"], [("l.tar", LAYER)], [("junk.bin", ("fill", 4 * GiB, b"\0"))]),
               ["zstd", "-q", "-1", "-c"])
elif kind == "bomb-layer-zstd":    # an uncompressed 1 GiB layer the config does not describe
    big = ("fill", GiB, b"\0")  # not even a tar: zeros
    compressed(out, docker(["l.tar"], [("l.tar", big)]), ["zstd", "-q", "-1", "-c"])
elif kind == "many-layers":        # 100000 layers
    n = 100000
    names = ["l%d.tar" % i for i in range(n)]
    cfg = config([sha(LAYER)] * n)
    man = json.dumps([{"Config": "cfg.json", "RepoTags": ["app:v1"], "Layers": names}]).encode()
    with open(out, "wb") as f:
        write_tar(f, [("manifest.json", man), ("cfg.json", cfg)] + [(x, LAYER) for x in names[:3]])
elif kind == "many-same-layer":    # 100000 times the same layer
    n = 100000
    cfg = config([sha(LAYER)] * n)
    man = json.dumps([{"Config": "cfg.json", "RepoTags": ["app:v1"], "Layers": ["l.tar"] * n}]).encode()
    with open(out, "wb") as f:
        write_tar(f, [("manifest.json", man), ("cfg.json", cfg), ("l.tar", LAYER)])
elif kind == "deep-json":
    with open(out, "wb") as f:
        write_tar(f, [("manifest.json", b"[" * 100000 + b"]" * 100000)])
elif kind == "deep-config":
    cfg = b'{"rootfs":' + b"[" * 100000 + b"]" * 100000 + b"}"
    man = json.dumps([{"Config": "cfg.json", "RepoTags": ["app:v1"], "Layers": ["l.tar"]}]).encode()
    with open(out, "wb") as f:
        write_tar(f, [("manifest.json", man), ("cfg.json", cfg), ("l.tar", LAYER)])
elif kind == "ctrl-names":         # a RepoTags entry and a layer name with a new line and an escape
    cfg = config([sha(LAYER)])
    man = json.dumps([{"Config": "cfg.json", "RepoTags": ["evil\n\x1b[2Jname:v1"],
                       "Layers": ["no\nsuch\x1b[2J.tar"]}]).encode()
    with open(out, "wb") as f:
        write_tar(f, [("manifest.json", man), ("cfg.json", cfg)])
elif kind.startswith("path:"):     # path:LAYERNAME -> manifest names LAYERNAME
    name = kind[5:]
    with open(out, "wb") as f:
        write_tar(f, docker([name], [("l.tar", LAYER)]))
elif kind.startswith("entry:"):    # entry:NAME -> the layer is stored under NAME
    name = kind[6:]
    with open(out, "wb") as f:
        write_tar(f, docker([name], [(name, LAYER)]))
elif kind.startswith("link:"):     # link:TARGET -> l.tar is a symlink to TARGET
    with open(out, "wb") as f:
        write_tar(f, docker(["l.tar"], [("l.tar", ("sym", kind[5:]))]))
elif kind.startswith("hardlink:"):
    with open(out, "wb") as f:
        write_tar(f, docker(["l.tar"], [("l.tar", ("hard", kind[9:]))]))
elif not kind.startswith("oci-"):
    sys.exit("mk.py: unknown kind " + kind)

def oci_dir(out, layer, mt="application/vnd.oci.image.layer.v1.tar", size=None, digest=None,
            store=None, link=None, diff=None):
    """An OCI layout directory at `out` with one image of one layer. `size` and
    `digest` override the layer descriptor; `store` replaces the stored layer
    bytes; `link` makes the layer blob a symlink to that path."""
    os.makedirs(out + "/blobs/sha256")
    def blob(b):
        with open(out + "/blobs/sha256/" + sha(b)[7:], "wb") as f:
            f.write(b)
        return sha(b)
    d = blob(layer)
    p = out + "/blobs/sha256/" + d[7:]
    if store is not None:
        with open(p, "wb") as f:
            f.write(store)
    if link is not None:
        os.unlink(p)
        os.symlink(link, p)
    if diff is None:
        diff = sha(layer) if "gzip" not in mt else sha(gzip.decompress(layer))
    cfg = config([diff])
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": blob(cfg), "size": len(cfg)},
                      "layers": [{"mediaType": mt, "digest": digest or d,
                                  "size": len(layer) if size is None else size}]}).encode()
    md = blob(man)
    idx = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                             "digest": md, "size": len(man)}]}
    with open(out + "/index.json", "w") as f:
        json.dump(idx, f)
    with open(out + "/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')

if kind == "oci-good":
    oci_dir(out, LAYER)
elif kind == "oci-bigger":           # blob file larger than the descriptor's size
    oci_dir(out, LAYER, store=LAYER + b"\0" * (64 << 20))
elif kind == "oci-raw-diff":         # an uncompressed layer whose digest is not its diff_id
    oci_dir(out, LAYER, diff="sha256:" + "0" * 64)
elif kind == "oci-size-huge":        # descriptor size 2^62
    oci_dir(out, LAYER, size=1 << 62)
elif kind == "oci-size-negative":
    oci_dir(out, LAYER, size=-1)
elif kind == "oci-digest-path":      # digest that is a path
    oci_dir(out, LAYER, digest="sha256:../../../../etc/passwd")
elif kind == "oci-blob-symlink":     # layer blob is a symlink leaving the layout
    oci_dir(out, LAYER, link="/etc/passwd")
elif kind == "oci-gzip-bomb":        # a gzip layer: 1.5 MiB stored, 256 MiB inflated
    zeros = tar_bytes([("zero.bin", ("fill", 256 << 20, b"\0"))])
    oci_dir(out, gzip.compress(zeros, compresslevel=1, mtime=0),
            mt="application/vnd.oci.image.layer.v1.tar+gzip")
elif kind == "oci-many-manifests":   # an image index of 10000 manifests (all the same one)
    oci_dir(out, LAYER)
    with open(out + "/index.json") as f:
        top = json.load(f)
    child = dict(top["manifests"][0], platform={"os": "linux", "architecture": "amd64"})
    inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [child] * 10000}).encode()
    with open(out + "/blobs/sha256/" + sha(inner)[7:], "wb") as f:
        f.write(inner)
    top["manifests"] = [{"mediaType": "application/vnd.oci.image.index.v1+json",
                         "digest": sha(inner), "size": len(inner)}]
    with open(out + "/index.json", "w") as f:
        json.dump(top, f)
elif kind == "oci-deep-index":
    oci_dir(out, LAYER)
    with open(out + "/index.json", "w") as f:
        f.write('{"schemaVersion":2,"manifests":' + "[" * 100000 + "]" * 100000 + "}")
PY
mk() { python3 "$T/mk.py" "$1" "$2"; }

# Memory bound: what a tiny image costs, plus 64 MiB (tagseal holds at most
# a few chunks; a bomb that were read into memory would need 256 MiB-4 GiB).
mk oci-good "$T/good.d"
/usr/bin/time -f %M -o "$T/rss" "$TAGSEAL" push "$T/good.d" --repo "$REGISTRY/h/base" --tag t1 \
	--dry-run --no-cache >/dev/null 2>&1 || ts_fail "a dry run of a good image failed"
RSS_LIMIT=$(($(tail -1 "$T/rss") + 64 * 1024))
if [ -n "${TS_WRAP:-}" ]; then
	RSS_LIMIT=$((4 * 1024 * 1024)) # valgrind's own memory: only the gross bound
	export TS_HOSTILE_GIB=$((64 << 20)) # and bombs of 64 MiB, not 1 GiB, for its speed
elif [[ $(ldd "$TAGSEAL" 2>/dev/null) == *libasan* ]]; then # (not grep -q: SIGPIPE under pipefail)
	RSS_LIMIT=$((RSS_LIMIT + 256 * 1024)) # ASan keeps up to 256 MiB of freed memory
elif [[ $(ldd "$TAGSEAL" 2>/dev/null) == *libtsan* ]]; then
	RSS_LIMIT=$((RSS_LIMIT + 512 * 1024)) # TSan's shadow memory grows with what is touched
fi

no_tags() {
	if skopeo list-tags --tls-verify=false "docker://$REGISTRY/h/$1" >"$T/tags" 2>/dev/null; then
		assert_eq "$(jq -c '.Tags // []' "$T/tags")" "[]" "$1: no tag after a refused push"
	fi
}

# pushed CODE NAME TEXT IMAGE ARGS...: push IMAGE to h/NAME; it exits CODE,
# within RSS_LIMIT, and (unless CODE is 0) says TEXT in one stderr line and
# leaves no tag.
pushed() {
	local code=$1 name=$2 text=$3 image=$4 rc=0 rss
	shift 4
	/usr/bin/time -f %M -o "$T/rss" "$TAGSEAL" push "$image" --repo "$REGISTRY/h/$name" \
		--tag t1 --jobs 2 "$@" >"$T/out" 2>"$T/err" || rc=$?
	rss=$(tail -1 "$T/rss")
	if [ "$rc" != "$code" ]; then
		{ echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"; } >&2
		ts_fail "$name: exit $rc, expected $code"
	fi
	[ "$rss" -le "$RSS_LIMIT" ] || ts_fail "$name: peak RSS ${rss} KiB over ${RSS_LIMIT} KiB"
	if [ "$code" != 0 ]; then
		assert_one_line "$T/err"
		assert_contains "$T/err" "$text"
		no_tags "$name"
	fi
	echo "ok: $name (exit $rc, peak RSS ${rss} KiB)"
}

# ---- decompression bombs ----
mk bomb-manifest-zstd "$T/bomb1.tar.zst"      # 36 KiB -> 1 GiB manifest.json
pushed 2 bomb-manifest-zstd "member 'manifest.json' is larger than" "$T/bomb1.tar.zst"
mk bomb-manifest-gzip "$T/bomb2.tar.gz"       # 1 MiB -> 256 MiB manifest.json
pushed 2 bomb-manifest-gzip "member 'manifest.json' is larger than" "$T/bomb2.tar.gz"
mk bomb-layer-zstd "$T/bomb3.tar.zst"         # 36 KiB -> 1 GiB layer the config does not describe
pushed 2 bomb-layer-zstd "diff_id" "$T/bomb3.tar.zst" --no-cache
rm -f "$T"/bomb*
# 1 GiB of junk no manifest names: skipped while streaming, the image is pushed
mk bomb-member-zstd "$T/junk.tar.zst"
pushed 0 bomb-member-zstd "" "$T/junk.tar.zst" --no-cache
rm -f "$T/junk.tar.zst"
# A gzip layer (1.2 MiB stored, 256 MiB inflated) is pushed as it is: tagseal
# never inflates a layer that is already compressed, so the registry gets the
# same bytes (and digest) as the layout holds.
mk oci-gzip-bomb "$T/gzbomb.d"
pushed 0 gzip-layer-bomb "" "$T/gzbomb.d" --no-cache
man=$(jq -r '.manifests[0].digest' "$T/gzbomb.d/index.json")
want=$(jq -r '.layers[0].digest' "$T/gzbomb.d/blobs/sha256/${man#sha256:}")
got=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/h/gzip-layer-bomb:t1" | jq -r '.layers[0].digest')
assert_eq "$got" "$want" "the gzip layer is stored as is"
rm -rf "$T/gzbomb.d"

# ---- layers larger (or smaller) than declared ----
mk oci-bigger "$T/bigger.d"
pushed 2 oci-dir-bigger "but its descriptor says 10240" "$T/bigger.d"
(cd "$T/bigger.d" && tar -cf "$T/bigger.tar" .)
pushed 2 oci-tar-bigger "but its descriptor says 10240" "$T/bigger.tar"
rm -rf "$T/bigger.d" "$T/bigger.tar"

# an uncompressed layer is its own diff_id: a config that says otherwise
mk oci-raw-diff "$T/rawdiff.d"
pushed 2 raw-diff-id "does not match diff_id sha256:0000" "$T/rawdiff.d"

# ---- absurd counts and sizes in JSON ----
mk oci-size-huge "$T/huge.d"
pushed 2 size-2p62 "4611686018427387904" "$T/huge.d"
mk oci-size-negative "$T/neg.d"
pushed 2 size-negative "\"size\"" "$T/neg.d"
mk many-layers "$T/many.tar"
pushed 2 100k-layers "more than 4096 Layers" "$T/many.tar"
mk many-same-layer "$T/same.tar"
pushed 2 100k-same-layer "more than 4096 Layers" "$T/same.tar"
mk oci-many-manifests "$T/manyman.d"
pushed 2 10k-manifests "too many manifests" "$T/manyman.d"
mk deep-json "$T/deep.tar"
pushed 2 deep-manifest "manifest.json is not valid JSON" "$T/deep.tar"
mk deep-config "$T/deepcfg.tar"
pushed 2 deep-config "config 'cfg.json' is not valid JSON" "$T/deepcfg.tar"
mk oci-deep-index "$T/deepidx.d"
pushed 2 deep-index "index.json" "$T/deepidx.d"

# ---- path tricks (tagseal never extracts: names only resolve inside the image) ----
mk path:../l.tar "$T/p1.tar"
pushed 2 layers-dotdot "Layers[0] is not a safe path" "$T/p1.tar"
mk 'path:blobs/sha256/../../x' "$T/p2.tar"
pushed 2 layers-blobs-dotdot "layer 'x' is missing" "$T/p2.tar"
mk entry:../../escape.tar "$T/p3.tar"
pushed 2 entry-dotdot "Layers[0] is not a safe path" "$T/p3.tar"
mk link:../../../etc/passwd "$T/p4.tar"
pushed 2 symlink-out "layer 'l.tar' is missing" "$T/p4.tar"
mk link:/etc/passwd "$T/p5.tar"
pushed 2 symlink-abs "layer 'l.tar' is missing" "$T/p5.tar"
mk hardlink:nowhere "$T/p6.tar"
pushed 2 hardlink-nowhere "layer 'l.tar' is missing" "$T/p6.tar"
mk link:l.tar "$T/p7.tar"
pushed 2 symlink-loop "layer 'l.tar' is missing" "$T/p7.tar"
mk oci-digest-path "$T/p8.d"
pushed 2 digest-path "needs a sha256 \"digest\"" "$T/p8.d"
mk oci-blob-symlink "$T/p9.d"
pushed 2 layout-blob-symlink "is missing" "$T/p9.d"
# "/l.tar" names the member l.tar of the archive (as tar itself strips the
# leading '/'): inside the image, so it is read like any other name
mk path:/l.tar "$T/p10.tar"
pushed 0 layers-absolute "" "$T/p10.tar" --no-cache
[ ! -e "$T/../escape.tar" ] && [ ! -e "$T/escape.tar" ] || ts_fail "something was extracted"

# ---- names from the image reach messages: control characters must not ----
mk ctrl-names "$T/ctrl.tar"
for args in "--image other" ""; do
	rc=0
	# shellcheck disable=SC2086
	"$TAGSEAL" push "$T/ctrl.tar" --repo "$REGISTRY/h/ctrl" --tag t1 $args >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] || ts_fail "control characters in names: exit $rc, expected 2"
	no_tags ctrl
	if LC_ALL=C grep -q $'\x1b' "$T/err" || [ "$(wc -l <"$T/err")" != 1 ]; then
		cat -A "$T/err" >&2
		ts_fail "a name from the image put control characters in the message"
	fi
done
echo "ok: control characters in names (exit 2)"

# ---- symlinked output paths ----
# FLAG PATH: PATH is a symlink to a file outside its directory; the push is
# refused with exit 2 naming FLAG, and the file the link points to is intact.
mkdir -p "$T/outdir" "$T/elsewhere"
n=0
for flag in --digest-file --metadata-file --dotenv --record; do
	for target in "$T/elsewhere/file" "$T/elsewhere/absent"; do
		n=$((n + 1))
		echo precious >"$T/elsewhere/file"
		rm -f "$T/elsewhere/absent" "$T/outdir/out"
		ln -s "$target" "$T/outdir/out"
		rc=0
		"$TAGSEAL" push "$T/good.d" --repo "$REGISTRY/h/out$n" --tag t1 "$flag" "$T/outdir/out" \
			>"$T/out" 2>"$T/err" || rc=$?
		[ "$rc" = 2 ] || { cat "$T/err" >&2; ts_fail "$flag through a symlink: exit $rc, expected 2"; }
		assert_one_line "$T/err"
		assert_contains "$T/err" "$flag"
		assert_eq "$(cat "$T/elsewhere/file")" precious "$flag: the link's target is untouched"
		[ ! -e "$T/elsewhere/absent" ] || ts_fail "$flag: wrote through a dangling symlink"
		[ -L "$T/outdir/out" ] || ts_fail "$flag: the symlink was replaced"
		no_tags "out$n"
		echo "ok: $flag through a symlink to ${target##*/} (exit 2)"
	done
done

# ---- the layer cache never stands in for the layer's bytes ----
# A cached diff_id lets a push skip compressing a layer the registry already
# holds, but the bytes are still read and checked: a tarball whose layer is
# not what its config says is refused.
mk oci-good "$T/prime.d"
pushed 0 prime "" "$T/prime.d"
mk bomb-layer-zstd "$T/liar.tar.zst" # config: the cached diff_id; layer: 1 GiB of zeros
rc=0
"$TAGSEAL" push "$T/liar.tar.zst" --repo "$REGISTRY/h/prime" --tag t2 >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || ts_fail "a layer that does not match its diff_id was pushed from the layer cache (exit $rc)"
assert_contains "$T/err" "diff_id"
no_tags prime2 2>/dev/null || true
echo "test_hostile: every hostile input refused cleanly, memory bounded"
