#!/bin/sh
# Rebuild the vendored browser libraries of the web app from the npm registry.
#
#   recorder/web/ui/static/vendor/rebuild.sh
#
# package.json pins exact versions (htmx 2.x: htmx 4 is another API; wavesurfer.js 8 with
# its regions plugin) and package-lock.json pins their integrity hashes, so `npm ci` gets
# byte-identical tarballs. Only built files from each package's dist/ are copied, with the
# package's licence beside them; SHA256SUMS lets a reviewer check nothing else changed.
# Install scripts never run (--ignore-scripts). Nothing is fetched at run time: the app
# serves these files itself (CSP script-src 'self').
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
m="$work/node_modules"
cp "$m/htmx.org/dist/htmx.min.js" "$here/htmx.min.js"
cp "$m/htmx.org/LICENSE" "$here/LICENSE.htmx"
cp "$m/wavesurfer.js/dist/wavesurfer.esm.js" "$here/wavesurfer.esm.js"
cp "$m/wavesurfer.js/dist/plugins/regions.esm.js" "$here/regions.esm.js"
cp "$m/wavesurfer.js/LICENSE" "$here/LICENSE.wavesurfer"
cd "$here"
sha256sum htmx.min.js wavesurfer.esm.js regions.esm.js LICENSE.htmx LICENSE.wavesurfer > SHA256SUMS
echo "vendored: htmx $(node -p "require('$m/htmx.org/package.json').version")," \
  "wavesurfer.js $(node -p "require('$m/wavesurfer.js/package.json').version")"
