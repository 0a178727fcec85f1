# fixtures.sh - make container image fixtures for tests, offline (sourced).
#
# Images are built with umoci from files already on the machine (small
# binaries from /usr/bin plus a seed-dependent text file) and converted with
# skopeo, jq and tar. The same arguments give byte-identical output on one
# machine: dates are fixed, tarballs are sorted with zeroed owners and times.
# Different SEEDs give different images; a SEED is the image's identity.
#
#   fixture_oci_layout DIR TAG [NLAYERS] [SEED] [ARCH]  OCI layout directory (gzip layers)
#   fixture_uncompress_layout DIR TAG       rewrite TAG's layers as uncompressed tar
#   fixture_oci_archive FILE [TAG] [NLAYERS] [SEED]     OCI layout tarball (buildx type=oci)
#   fixture_docker_archive FILE NAME:TAG [NLAYERS] [SEED]  legacy `docker save` tarball
#   fixture_docker25_archive FILE NAME:TAG [NLAYERS] [SEED]  Docker 25+ `docker save`
#   fixture_random_docker_archive FILE BYTES  `docker save` of one incompressible layer
#   fixture_multi_docker_archive FILE NAME:TAG NAME:TAG  two images in one docker save
#   fixture_index_layout DIR [TAG] [SEED]   image index: linux/amd64 + linux/arm64
#   fixture_tar DIR FILE                    deterministic tarball of a directory
#   fixture_compress FILE gzip|zstd         write FILE.gz or FILE.zst, echo its path
#   fixture_git_repo DIR [TAG]              a git repository with one empty commit, tagged
#
# TS_FIXTURE_BIG_MIB=N (e.g. `TS_FIXTURE_BIG_MIB=12 fixture_docker_archive ...`) adds
# N MiB of incompressible, seed-determined bytes to layer 1 of any fixture, for
# tests of chunked and large uploads.
#
# Needs common.sh (for $T). Layer blobs in layouts are gzip-compressed (umoci);
# docker-archive layers are uncompressed tar (skopeo), as `docker save` writes.

TS_FIXTURE_DATE=2020-01-01T00:00:00Z
TS_FIXTURE_EPOCH=1577836800

# _fixture_umoci ARGS...: umoci, rootless when not root.
_fixture_umoci() {
	local sub=$1
	shift
	if [ "$(id -u)" -ne 0 ] && [[ $sub == unpack || $sub == repack ]]; then
		umoci "$sub" --rootless "$@"
	else
		umoci "$sub" "$@"
	fi
}

# _fixture_binaries: the small binaries fixtures copy, in a stable order.
_fixture_binaries() {
	LC_ALL=C find /usr/bin -maxdepth 1 -type f -size +16k -size -200k -perm -u+r | LC_ALL=C sort
}

# _fixture_noise SEED MIB: MIB MiB of incompressible bytes, the same for a SEED.
_fixture_noise() {
	local key
	key=$(printf 'tagseal fixture noise %s' "$1" | sha256sum | cut -c1-32)
	head -c "$(($2 * 1048576))" /dev/zero |
		openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000
}

# _fixture_fill ROOTFS SEED LAYER: put this layer's files into ROOTFS.
_fixture_fill() {
	local root=$1 seed=$2 layer=$3 bins n k pick
	mapfile -t bins < <(_fixture_binaries)
	n=${#bins[@]}
	mkdir -p "$root/usr/local/bin" "$root/usr/share/fixture"
	for ((k = 0; k < 3 && n > 0; k++)); do
		pick=${bins[(seed * 7919 + layer * 104729 + k * 31) % n]}
		cp "$pick" "$root/usr/local/bin/$(basename "$pick")"
	done
	printf 'tagseal test fixture\nseed %s\nlayer %s\n' "$seed" "$layer" \
		>"$root/usr/share/fixture/layer-$layer.txt"
	if [ "$layer" = 1 ] && [ "${TS_FIXTURE_BIG_MIB:-0}" -gt 0 ]; then
		_fixture_noise "$seed" "$TS_FIXTURE_BIG_MIB" >"$root/usr/share/fixture/noise.bin"
	fi
	find "$root" -exec touch -h -d "@$TS_FIXTURE_EPOCH" {} +
}

# fixture_oci_layout DIR TAG [NLAYERS=2] [SEED=1] [ARCH=amd64]: add image TAG
# (linux/ARCH, NLAYERS gzip layers) to the OCI layout DIR, creating DIR.
fixture_oci_layout() {
	local dir=$1 tag=$2 nlayers=${3:-2} seed=${4:-1} arch=${5:-amd64} bundle i
	[ -f "$dir/oci-layout" ] || umoci init --layout "$dir"
	umoci new --image "$dir:$tag"
	umoci config --image "$dir:$tag" --no-history --created "$TS_FIXTURE_DATE" \
		--architecture "$arch" --os linux --config.cmd /usr/local/bin/true \
		--config.label "org.tagseal.fixture.seed=$seed"
	bundle=$(mktemp -d "$T/bundle.XXXXXX")
	rmdir "$bundle"
	_fixture_umoci unpack --image "$dir:$tag" "$bundle" >/dev/null
	for ((i = 1; i <= nlayers; i++)); do
		_fixture_fill "$bundle/rootfs" "$seed" "$i"
		_fixture_umoci repack --refresh-bundle --image "$dir:$tag" \
			--history.created "$TS_FIXTURE_DATE" --history.created_by "fixture layer $i" \
			"$bundle" >/dev/null
	done
	rm -rf "$bundle"
	umoci gc --layout "$dir"
}

# _fixture_blob DIR FILE: move FILE into DIR's blob store; echo its digest.
_fixture_blob() {
	local dir=$1 file=$2 hex
	hex=$(sha256sum "$file" | cut -d' ' -f1)
	mkdir -p "$dir/blobs/sha256"
	mv "$file" "$dir/blobs/sha256/$hex"
	echo "sha256:$hex"
}

# _fixture_manifest_digest DIR TAG: digest of TAG's entry in DIR/index.json.
_fixture_manifest_digest() {
	jq -er --arg t "$2" \
		'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$1/index.json"
}

# _fixture_retag DIR TAG DIGEST MEDIATYPE: point TAG in DIR/index.json at DIGEST.
_fixture_retag() {
	local dir=$1 tag=$2 digest=$3 mt=$4 size
	size=$(stat -c %s "$dir/blobs/sha256/${digest#sha256:}")
	jq -c --arg t "$tag" --arg d "$digest" --arg m "$mt" --argjson s "$size" '
		.manifests |= (map(select(.annotations["org.opencontainers.image.ref.name"] != $t))
			+ [{mediaType: $m, digest: $d, size: $s,
			    annotations: {"org.opencontainers.image.ref.name": $t}}])' \
		"$dir/index.json" >"$dir/index.json.new"
	mv "$dir/index.json.new" "$dir/index.json"
}

# fixture_uncompress_layout DIR TAG [MEDIATYPE]: rewrite image TAG in DIR so
# that its layers are uncompressed tar (mediaType ...layer.v1.tar), as Docker
# 25+ writes them; with MEDIATYPE labelled so instead (podman save
# --uncompressed labels them ...tar+gzip).
fixture_uncompress_layout() {
	local dir=$1 tag=$2 lmt=${3:-application/vnd.oci.image.layer.v1.tar} mdigest man d tmp new
	mdigest=$(_fixture_manifest_digest "$dir" "$tag")
	man=$(cat "$dir/blobs/sha256/${mdigest#sha256:}")
	for d in $(jq -r '.layers[].digest' <<<"$man"); do
		tmp=$(mktemp "$T/layer.XXXXXX")
		gzip -dc "$dir/blobs/sha256/${d#sha256:}" >"$tmp"
		new=$(_fixture_blob "$dir" "$tmp")
		man=$(jq -c --arg o "$d" --arg n "$new" --arg mt "$lmt" \
			--argjson s "$(stat -c %s "$dir/blobs/sha256/${new#sha256:}")" '
			.layers |= map(if .digest == $o then
				.digest = $n | .size = $s | .mediaType = $mt
				else . end)' <<<"$man")
	done
	tmp=$(mktemp "$T/manifest.XXXXXX")
	printf '%s' "$man" >"$tmp"
	new=$(_fixture_blob "$dir" "$tmp")
	_fixture_retag "$dir" "$tag" "$new" application/vnd.oci.image.manifest.v1+json
	umoci gc --layout "$dir"
}

# fixture_tar DIR FILE: tar DIR's contents into FILE (sorted, no owners or dates).
fixture_tar() {
	local dir=$1 file=$2 entries
	mapfile -t entries < <(cd "$dir" && LC_ALL=C ls -A)
	tar --sort=name --mtime="@$TS_FIXTURE_EPOCH" --owner=0 --group=0 --numeric-owner \
		--format=gnu -C "$dir" -cf "$file" "${entries[@]}"
}

# fixture_oci_archive FILE [TAG=latest] [NLAYERS=2] [SEED=1]: an OCI layout
# tarball holding one image, as `docker buildx build --output type=oci` writes.
fixture_oci_archive() {
	local file=$1 tag=${2:-latest} dir
	dir=$(mktemp -d "$T/layout.XXXXXX")
	rmdir "$dir"
	fixture_oci_layout "$dir" "$tag" "${3:-2}" "${4:-1}"
	fixture_tar "$dir" "$file"
	rm -rf "$dir"
}

# fixture_random_docker_archive FILE BYTES: a `docker save` tarball with one
# layer holding BYTES of /dev/urandom (incompressible), as docker writes it.
fixture_random_docker_archive() {
	local file=$1 bytes=$2 w diff
	w=$(mktemp -d "$T/rnd.XXXXXX")
	mkdir -p "$w/root" "$w/img"
	head -c "$bytes" /dev/urandom >"$w/root/random.bin"
	tar -cf "$w/layer.tar" -C "$w/root" random.bin
	diff=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
	mkdir -p "$w/img/$diff" && mv "$w/layer.tar" "$w/img/$diff/layer.tar"
	printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$diff" >"$w/img/config.json"
	printf '[{"Config":"config.json","RepoTags":["big/app:1"],"Layers":["%s/layer.tar"]}]' "$diff" \
		>"$w/img/manifest.json"
	tar -cf "$file" -C "$w/img" .
	rm -rf "$w"
}

# fixture_docker_archive FILE NAME:TAG [NLAYERS=2] [SEED=1]: a legacy
# `docker save` tarball (manifest.json, uncompressed layers) made by skopeo.
# Note: skopeo writes RepoTags in full form (app:v1 -> docker.io/library/app:v1).
fixture_docker_archive() {
	local file=$1 name=$2 dir
	dir=$(mktemp -d "$T/layout.XXXXXX")
	rmdir "$dir"
	fixture_oci_layout "$dir" img "${3:-2}" "${4:-1}"
	rm -f "$file"
	skopeo copy -q "oci:$dir:img" "docker-archive:$file:$name"
	rm -rf "$dir"
}

# _fixture_full_name NAME:TAG: the fully qualified form Docker writes
# (app:v1 -> docker.io/library/app:v1).
_fixture_full_name() {
	local n=$1 first=${1%%/*}
	if [[ $n != */* ]]; then
		n=docker.io/library/$n
	elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
		n=docker.io/$n
	fi
	echo "$n"
}

# fixture_docker25_archive FILE NAME:TAG [NLAYERS=2] [SEED=1]: a Docker 25+
# `docker save` tarball: an OCI layout with uncompressed layers, plus
# manifest.json and repositories beside it.
fixture_docker25_archive() {
	local file=$1 name=$2 dir mdigest man repo tag
	repo=${name%:*} tag=${name##*:}
	dir=$(mktemp -d "$T/layout.XXXXXX")
	rmdir "$dir"
	fixture_oci_layout "$dir" "$tag" "${3:-2}" "${4:-1}"
	fixture_uncompress_layout "$dir" "$tag"
	mdigest=$(_fixture_manifest_digest "$dir" "$tag")
	man=$dir/blobs/sha256/${mdigest#sha256:}
	jq -c --arg n "$name" '[{
		Config: ("blobs/sha256/" + (.config.digest | ltrimstr("sha256:"))),
		RepoTags: [$n],
		Layers: [.layers[] | "blobs/sha256/" + (.digest | ltrimstr("sha256:"))],
		LayerSources: (reduce .layers[] as $l ({}; .[$l.digest] = $l))
	}]' "$man" >"$dir/manifest.json"
	jq -c --arg r "$repo" --arg t "$tag" \
		'{($r): {($t): (.layers[-1].digest | ltrimstr("sha256:"))}}' "$man" >"$dir/repositories"
	jq -c --arg n "$(_fixture_full_name "$name")" --arg t "$tag" '.manifests |= map(.annotations = {
		"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": $t})' \
		"$dir/index.json" >"$dir/index.json.new"
	mv "$dir/index.json.new" "$dir/index.json"
	fixture_tar "$dir" "$file"
	rm -rf "$dir"
}

# fixture_multi_docker_archive FILE NAME:TAG NAME:TAG: one `docker save`
# tarball holding two different images (seeds 1 and 2), as
# `docker save a:1 b:2` writes.
fixture_multi_docker_archive() {
	local file=$1 work
	work=$(mktemp -d "$T/multi.XXXXXX")
	fixture_docker_archive "$work/a.tar" "$2" 2 1
	fixture_docker_archive "$work/b.tar" "$3" 2 2
	mkdir "$work/a" "$work/b" "$work/out"
	tar -xf "$work/a.tar" -C "$work/a"
	tar -xf "$work/b.tar" -C "$work/b"
	cp -a "$work/a/." "$work/out/"
	cp -a "$work/b/." "$work/out/"
	jq -s -c 'add' "$work/a/manifest.json" "$work/b/manifest.json" >"$work/out/manifest.json"
	jq -s -c '.[0] * .[1]' "$work/a/repositories" "$work/b/repositories" >"$work/out/repositories"
	fixture_tar "$work/out" "$file"
	rm -rf "$work"
}

# fixture_index_layout DIR [TAG=latest] [SEED=1]: an OCI layout whose TAG is an
# image index listing two real images, linux/amd64 and linux/arm64. The
# children are not tagged in index.json.
fixture_index_layout() {
	local dir=$1 tag=${2:-latest} seed=${3:-1} arch d entries=() tmp idx
	for arch in amd64 arm64; do
		fixture_oci_layout "$dir" "child-$arch" 2 "$seed" "$arch"
		seed=$((seed + 1000))
		d=$(_fixture_manifest_digest "$dir" "child-$arch")
		entries+=("$(jq -c --arg d "$d" --arg a "$arch" \
			--argjson s "$(stat -c %s "$dir/blobs/sha256/${d#sha256:}")" -n \
			'{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d,
			  size: $s, platform: {architecture: $a, os: "linux"}}')")
	done
	tmp=$(mktemp "$T/index.XXXXXX")
	printf '%s\n' "${entries[@]}" | jq -s -c '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' | tr -d '\n' >"$tmp"
	idx=$(_fixture_blob "$dir" "$tmp")
	jq -c '.manifests |= map(select(.annotations["org.opencontainers.image.ref.name"]
		| startswith("child-") | not))' "$dir/index.json" >"$dir/index.json.new"
	mv "$dir/index.json.new" "$dir/index.json"
	_fixture_retag "$dir" "$tag" "$idx" application/vnd.oci.image.index.v1+json
}

# fixture_compress FILE gzip|zstd: write FILE.gz or FILE.zst next to FILE
# (FILE is kept) and echo the new path.
fixture_compress() {
	local file=$1
	case $2 in
	gzip) gzip -n -9 -c "$file" >"$file.gz"; echo "$file.gz" ;;
	zstd) zstd -q -f -c "$file" >"$file.zst"; echo "$file.zst" ;;
	*) echo "fixture_compress: unknown compression '$2'" >&2; return 2 ;;
	esac
}

# fixture_git_repo DIR [TAG]: a git repository with one empty commit, tagged
# TAG when given (for the git facts of tags and records).
fixture_git_repo() {
	local dir=$1
	mkdir -p "$dir"
	git -C "$dir" init -q
	git -C "$dir" -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m one
	[ -z "${2:-}" ] || git -C "$dir" tag "$2"
}
