# in your project, on the release branch, with the image built as image.tar:
git tag -a v1.2.3 -m "release 1.2.3"   # the version comes from this tag
scripts/release.sh --repo registry.example.com/team/app --dry-run   # look first
scripts/release.sh --repo registry.example.com/team/app
git push --follow-tags origin main
