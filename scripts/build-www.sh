#!/usr/bin/env bash
# Builds the demo site: scripts/build-www.sh SRC OUT (make www: examples/www into build/www).
# Copies SRC to OUT (replaced), renames each file of assets/ to NAME.HASH.EXT (the first 10 hex
# digits of its SHA-256, so it can be cached for a year) and rewrites the /assets/NAME.EXT
# references in the HTML pages; then writes a .br (brotli -q 11) and a .gz (gzip -9) beside each
# text file. The variants are made here, not committed: a checkout gives files arbitrary mtimes,
# and zhttpd ignores a variant older than its original.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 SRC OUT" >&2
  exit 2
fi
src=$1
out=$2

rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -r "$src" "$out"

shopt -s nullglob
pages=("$out"/*.html)
for file in "$out"/assets/*; do
  name=$(basename "$file")
  hash=$(sha256sum "$file" | cut -c1-10)
  hashed="${name%.*}.$hash.${name##*.}"
  mv "$file" "$out/assets/$hashed"
  sed -i "s|\"/assets/$name\"|\"/assets/$hashed\"|g" "${pages[@]}"
done

while IFS= read -r -d '' file; do
  brotli -q 11 -f -o "$file.br" "$file"
  gzip -9 -n -k -f "$file"
  # Both give the variant its original's mtime, brotli truncated to the second: older than the
  # original to a server comparing nanoseconds. Now is never older.
  touch "$file.br" "$file.gz"
done < <(find "$out" -type f \( -name '*.html' -o -name '*.css' -o -name '*.js' -o -name '*.svg' \) -print0)
