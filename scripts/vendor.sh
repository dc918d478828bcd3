#!/usr/bin/env bash
# Installs front-end libraries from the npm registry and copies their browser
# builds to static/vendor/ (not committed). Skips npm when the lock is unchanged.
# axe-core (a devDependency) stays in node_modules: only the browser tests load it.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.meshdeck-stamp
fingerprint() { { cat package.json; cat package-lock.json 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }
want=$(fingerprint)
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
  echo "vendor: npm install (cytoscape, dagre, chart.js, axe-core)"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  fingerprint > "$stamp"
fi
mkdir -p static/vendor
cp node_modules/cytoscape/dist/cytoscape.min.js static/vendor/
cp node_modules/dagre/dist/dagre.min.js static/vendor/
cp node_modules/cytoscape-dagre/cytoscape-dagre.js static/vendor/
cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/
# Its source map too: the file names it, and production's collectstatic (manifest storage) fails
# on a reference to a missing file.
cp node_modules/chart.js/dist/chart.umd.min.js.map static/vendor/
