#!/usr/bin/env python3
"""Writes a realistic 10k-file monorepo for timing `devloop init --dry-run`.

usage: gen_repo.py DIR [FILES]

A pnpm/turbo workspace with a Next.js app, an Express API and 20 UI/library
packages, a Go service, a FastAPI service and docs: FILES files that the
detector walks (default 10000), plus a node_modules/ and a .git/ of 5000
files each that it must skip. Deterministic: the same arguments give the
same tree.
"""
import os
import sys

root = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
written = 0


def put(path, text, count=True):
    global written
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
    if count:
        written += 1


TSX = "import React from 'react';\nimport {{ useState }} from 'react';\n\nexport function C{n}() {{\n  const [v, setV] = useState({n});\n  return <div onClick={{() => setV(v + 1)}}>item {n}: {{v}}</div>;\n}}\n"
TS = "import {{ z }} from 'zod';\n\nexport const schema{n} = z.object({{ id: z.string(), n: z.number().default({n}) }});\nexport type T{n} = z.infer<typeof schema{n}>;\n"
GO = "package handlers\n\nimport (\n\t\"encoding/json\"\n\t\"net/http\"\n)\n\nfunc Handler{n}(w http.ResponseWriter, r *http.Request) {{\n\tjson.NewEncoder(w).Encode(map[string]int{{\"n\": {n}}})\n}}\n"
PY = "from pydantic import BaseModel\n\n\nclass Model{n}(BaseModel):\n    id: str\n    n: int = {n}\n"
MD = "# Page {n}\n\nSome documentation about feature {n}.\n"

# Manifests and entry points.
put("package.json", '{"name": "acme", "private": true, "packageManager": "pnpm@9.1.0", "devDependencies": {"turbo": "^2"}}\n')
put("pnpm-workspace.yaml", 'packages:\n  - "apps/*"\n  - "packages/*"\n')
put("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
put("turbo.json", "{}\n")
put(".gitignore", "node_modules\n.next\ndist\n")
put("apps/web/package.json", '{"name": "web", "dependencies": {"next": "14", "react": "18"}}\n')
put("apps/web/next.config.mjs", "export default {};\n")
put("apps/web/tsconfig.json", "{}\n")
put("apps/web/app/page.tsx", "export default function Page() { return <main/>; }\n")
put("apps/api/package.json", '{"name": "api", "dependencies": {"express": "4"}}\n')
put("apps/api/tsconfig.json", "{}\n")
put("apps/api/src/index.ts", "import express from 'express';\nconst app = express();\napp.listen(process.env.PORT || 4000);\n")
put("services/billing/go.mod", "module acme/billing\n\ngo 1.22\n\nrequire github.com/go-chi/chi/v5 v5.0.12\n")
put("services/billing/main.go", 'package main\n\nimport (\n\t"net/http"\n\n\t"github.com/go-chi/chi/v5"\n)\n\nfunc main() {\n\tr := chi.NewRouter()\n\thttp.ListenAndServe(":8080", r)\n}\n')
put("services/ml/requirements.txt", "fastapi\nuvicorn\npydantic\n")
put("services/ml/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
for p in range(20):
    put(f"packages/lib{p}/package.json", f'{{"name": "@acme/lib{p}", "main": "src/index.ts"}}\n')
    put(f"packages/lib{p}/src/index.ts", "export * from './t0';\n")

# Bulk sources, spread over the apps in realistic proportions.
shares = [
    ("apps/web/components/{d}/C{n}.tsx", TSX, 0.30),
    ("apps/api/src/{d}/t{n}.ts", TS, 0.15),
    ("packages/lib{p}/src/{d}/t{n}.ts", TS, 0.30),
    ("services/billing/internal/handlers{d}/h{n}.go", GO, 0.10),
    ("services/ml/app/{d}/m{n}.py", PY, 0.08),
    ("docs/{d}/page{n}.md", MD, 0.07),
]
left = total - written
n = 0
for pattern, text, share in shares:
    for _ in range(int(left * share)):
        put(pattern.format(d=f"d{n % 37}", n=n, p=n % 20), text.format(n=n))
        n += 1
while written < total:
    put(f"docs/extra/page{n}.md", MD.format(n=n))
    n += 1

# What the walk must skip.
for i in range(5000):
    put(f"node_modules/pkg{i % 200}/lib/f{i}.js", "module.exports = require('http');\n", count=False)
    put(f".git/objects/{i % 256:02x}/{i:038x}", "x", count=False)

print(f"{root}: {written} files (plus 10000 in node_modules/ and .git/)")
