# from a tagseal checkout (tagseal itself installed on PATH):
mkdir -p ~/.docker/cli-plugins
install -m 0755 plugin/docker-tagseal ~/.docker/cli-plugins/docker-tagseal
docker tagseal --help

# then, with credentials from `docker login registry.example.com`:
docker tagseal push image.tar --repo registry.example.com/team/app --tag 1.0.0
