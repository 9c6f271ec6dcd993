#!/usr/bin/env bash
# tools/fashion-data.sh -- make sure Fashion-MNIST is on this machine.
#
# The data comes from Debian's dataset-fashion-mnist package, which puts the
# four gzip-compressed IDX files in /usr/share/datasets/fashion-mnist. As
# root with apt-get available this installs the package when a file is
# missing; otherwise it prints the command to run and exits 1.
# (The package only ever fills the default directory, so apt-get is not
# tried for another FASHION_DIR.)
# FASHION_DIR overrides where the files are looked for.
set -euo pipefail

debian_dir=/usr/share/datasets/fashion-mnist
dir=${FASHION_DIR:-$debian_dir}
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
       t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

missing() {
  local f
  for f in "${files[@]}"; do [[ -s $dir/$f ]] || echo "$f"; done
}

[[ -z $(missing) ]] && { echo "fashion-data: found in $dir"; exit 0; }

if [[ $dir == "$debian_dir" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "fashion-data: installing Debian package dataset-fashion-mnist" >&2
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist
  if [[ -n $(missing) ]]; then
    echo "fashion-data: installed dataset-fashion-mnist, but $dir still lacks:" >&2
    missing | sed 's/^/  /' >&2
    exit 1
  fi
  echo "fashion-data: found in $dir"
  exit 0
fi

echo "fashion-data: missing in $dir:" >&2
missing | sed 's/^/  /' >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "fashion-data: install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist" >&2
else
  echo "fashion-data: no apt-get here; get the four files from" >&2
  echo "  https://github.com/zalandoresearch/fashion-mnist (data/fashion)" >&2
  echo "and run: make fashion-data FASHION_DIR=/path/to/them" >&2
fi
exit 1
