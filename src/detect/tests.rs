//! Table-driven tests of detection on in-memory trees: one row per signal,
//! per misleading build file and per multi-app shape.

use super::tree::Tree;
use super::{App, detect_tree};
use crate::pack;

fn detect(files: &[(&str, &str)]) -> Vec<App> {
    let packs = pack::embedded().expect("packs compile");
    detect_tree(&Tree::from_memory(files), packs, "repo").apps
}

/// (path, language, build tool, framework, port, port source); "" is null.
type Want = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u16,
    &'static str,
);

fn summary(app: &App) -> (String, String, String, String, u16, String) {
    (
        app.path.clone(),
        app.language.clone().unwrap_or_default(),
        app.build_tool.clone().unwrap_or_default(),
        app.framework.clone().unwrap_or_default(),
        app.port.unwrap_or(0),
        app.port_source.as_str().to_owned(),
    )
}

/// A named tree and the apps it should yield.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [Want]);

fn check(cases: &[Case<'_>]) {
    let mut failures = Vec::new();
    for (name, files, want) in cases {
        let got: Vec<_> = detect(files).iter().map(summary).collect();
        let want: Vec<_> = want
            .iter()
            .map(|(p, l, b, f, port, s)| {
                (
                    (*p).to_owned(),
                    (*l).to_owned(),
                    (*b).to_owned(),
                    (*f).to_owned(),
                    *port,
                    (*s).to_owned(),
                )
            })
            .collect();
        if got != want {
            failures.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const FLASK: &str = "from flask import Flask\napp = Flask(__name__)\n";
const EXPRESS: &str = "const express = require('express')\nconst app = express()\napp.listen(process.env.PORT || 3000)\n";
const GO_HTTP: &str = "package main\n\nimport \"net/http\"\n\nfunc main() {\n\thttp.ListenAndServe(\":8080\", nil)\n}\n";
const SPRING_JAVA: &str = "package demo;\n@SpringBootApplication\npublic class App {\n  public static void main(String[] a) {}\n}\n";
const SPRING_KT: &str =
    "package demo\n@SpringBootApplication\nclass App\nfun main(args: Array<String>) {}\n";

#[test]
#[allow(clippy::too_many_lines)] // a table of cases
fn language_and_build_tool_signals() {
    check(&[
        (
            "pip",
            &[("requirements.txt", "flask\n"), ("app.py", FLASK)],
            &[(".", "python", "pip", "flask", 5000, "framework-default")],
        ),
        (
            "poetry",
            &[
                (
                    "pyproject.toml",
                    "[tool.poetry]\nname='x'\n[tool.poetry.dependencies]\nfastapi = '*'\n",
                ),
                ("main.py", "from fastapi import FastAPI\n"),
            ],
            &[(
                ".",
                "python",
                "poetry",
                "fastapi",
                8000,
                "framework-default",
            )],
        ),
        (
            "pipenv",
            &[
                ("Pipfile", "[packages]\ndjango = '*'\n"),
                (
                    "manage.py",
                    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'x')\n",
                ),
            ],
            &[(".", "python", "pipenv", "django", 8000, "framework-default")],
        ),
        (
            "uv",
            &[
                (
                    "pyproject.toml",
                    "[project]\nname='x'\ndependencies=['flask']\n[tool.uv]\n",
                ),
                ("uv.lock", ""),
                ("app.py", FLASK),
            ],
            &[(".", "python", "uv", "flask", 5000, "framework-default")],
        ),
        (
            "conda",
            &[
                ("environment.yml", "dependencies:\n  - flask\n"),
                ("app.py", FLASK),
            ],
            &[(".", "python", "conda", "flask", 5000, "framework-default")],
        ),
        (
            "stdlib",
            &[(
                "server.py",
                "from http.server import HTTPServer\nHTTPServer(('', 8001), H).serve_forever()\n",
            )],
            &[(".", "python", "", "stdlib", 8001, "code")],
        ),
        (
            "npm",
            &[
                ("package.json", "{\"dependencies\":{\"express\":\"4\"}}"),
                ("package-lock.json", "{}"),
                ("index.js", EXPRESS),
            ],
            &[(".", "javascript", "npm", "express", 3000, "code")],
        ),
        (
            "yarn",
            &[
                ("package.json", "{}"),
                ("yarn.lock", ""),
                ("server.js", EXPRESS),
            ],
            &[(".", "javascript", "yarn", "express", 3000, "code")],
        ),
        (
            "pnpm",
            &[
                ("package.json", "{\"packageManager\":\"pnpm@9.0.0\"}"),
                ("src/index.ts", "import { Hono } from 'hono'\n"),
                ("tsconfig.json", "{}"),
            ],
            &[(".", "typescript", "pnpm", "hono", 3000, "framework-default")],
        ),
        (
            "deno",
            &[
                ("deno.json", "{}"),
                (
                    "main.ts",
                    "Deno.serve({ port: 8001 }, () => new Response('hi'))\n",
                ),
            ],
            &[(".", "typescript", "deno", "http", 8001, "code")],
        ),
        (
            "gomod",
            &[("go.mod", "module x\n"), ("main.go", GO_HTTP)],
            &[(".", "go", "gomod", "net/http", 8080, "code")],
        ),
        (
            "plain go",
            &[("main.go", GO_HTTP)],
            &[(".", "go", "go", "net/http", 8080, "code")],
        ),
        (
            "bazel",
            &[
                ("MODULE.bazel", ""),
                ("go.mod", "module x\n"),
                ("main.go", GO_HTTP),
            ],
            &[(".", "go", "bazel", "net/http", 8080, "code")],
        ),
        (
            "maven",
            &[
                (
                    "pom.xml",
                    "<artifactId>spring-boot-starter-web</artifactId><groupId>org.springframework.boot</groupId>",
                ),
                ("src/main/java/demo/App.java", SPRING_JAVA),
            ],
            &[(
                ".",
                "java",
                "maven",
                "spring-boot",
                8080,
                "framework-default",
            )],
        ),
        (
            "gradle wrapper",
            &[
                ("build.gradle", "id 'org.springframework.boot'"),
                ("gradlew", ""),
                ("src/main/java/demo/App.java", SPRING_JAVA),
                (
                    "src/main/resources/application.properties",
                    "server.port=9090\n",
                ),
            ],
            &[(".", "java", "gradle", "spring-boot", 9090, "config")],
        ),
        (
            "sbt",
            &[
                ("build.sbt", "name := \"x\"\n"),
                (
                    "src/main/scala/Main.scala",
                    "object Main extends App {\n  bindHttp(9000)\n}\n",
                ),
            ],
            &[(".", "scala", "sbt", "", 9000, "code")],
        ),
        (
            "groovy",
            &[
                ("build.gradle", "id 'org.springframework.boot'"),
                (
                    "src/main/groovy/App.groovy",
                    "@SpringBootApplication\nclass App { static void main(String[] a) {} }\n",
                ),
            ],
            &[(
                ".",
                "groovy",
                "gradle",
                "spring-boot",
                8080,
                "framework-default",
            )],
        ),
        (
            "bundler sinatra",
            &[
                ("Gemfile", "gem 'sinatra'\n"),
                ("app.rb", "require 'sinatra'\nset :port, 4568\n"),
            ],
            &[(".", "ruby", "bundler", "sinatra", 4568, "code")],
        ),
        (
            "rack",
            &[
                ("Gemfile", "gem 'rack'\n"),
                ("config.ru", "run ->(env) { [200, {}, ['ok']] }\n"),
            ],
            &[(".", "ruby", "bundler", "rack", 9292, "framework-default")],
        ),
        (
            "composer",
            &[
                (
                    "composer.json",
                    "{\"require\":{\"laravel/framework\":\"^11\"}}",
                ),
                ("artisan", "use Illuminate\\Foundation;\n"),
                ("public/index.php", "<?php\n"),
            ],
            &[(".", "php", "composer", "laravel", 8000, "framework-default")],
        ),
        (
            "cargo rocket",
            &[
                (
                    "Cargo.toml",
                    "[package]\nname='x'\n[dependencies]\nrocket = '0.5'\n",
                ),
                ("src/main.rs", "#[launch]\nfn rocket() -> _ {}\n"),
                ("Rocket.toml", "[default]\nport = 8001\n"),
            ],
            &[(".", "rust", "cargo", "rocket", 8001, "config")],
        ),
        (
            "dotnet",
            &[
                ("Web.csproj", "<Project Sdk=\"Microsoft.NET.Sdk.Web\">"),
                (
                    "Program.cs",
                    "var builder = WebApplication.CreateBuilder(args);\n",
                ),
                (
                    "Properties/launchSettings.json",
                    "\"applicationUrl\": \"https://localhost:7001;http://localhost:5123\"",
                ),
            ],
            &[(".", "csharp", "dotnet", "aspnet", 5123, "config")],
        ),
        (
            "lein",
            &[
                ("project.clj", "(defproject x :main x.core)"),
                (
                    "src/x/core.clj",
                    "(defn -main [] (run-jetty app {:port 3001}))\n",
                ),
            ],
            &[(".", "clojure", "lein", "", 3001, "code")],
        ),
        (
            "clojure-cli",
            &[
                ("deps.edn", "{}"),
                (
                    "src/x/main.clj",
                    "(defn -main [] (run-server app {:port (Integer/parseInt (or (System/getenv \"PORT\") \"8090\"))}))\n",
                ),
            ],
            &[(".", "clojure", "clojure-cli", "", 8090, "code")],
        ),
        (
            "mix phoenix",
            &[
                ("mix.exs", "{:phoenix, \"~> 1.7\"}"),
                (
                    "lib/x_web/endpoint.ex",
                    "use Phoenix.Endpoint, otp_app: :x\n",
                ),
            ],
            &[(".", "elixir", "mix", "phoenix", 4000, "framework-default")],
        ),
        (
            "rebar3",
            &[
                ("rebar.config", "{deps, [cowboy]}."),
                (
                    "src/x_app.erl",
                    "cowboy:start_clear(http, [{port, 8082}], #{})\n",
                ),
            ],
            &[(".", "erlang", "rebar3", "", 8082, "code")],
        ),
        (
            "swiftpm vapor",
            &[
                (
                    "Package.swift",
                    ".package(url: \"https://github.com/vapor/vapor.git\", from: \"4.0.0\")",
                ),
                ("Sources/App/configure.swift", "import Vapor\n"),
            ],
            &[(".", "swift", "swiftpm", "vapor", 8080, "framework-default")],
        ),
        (
            "static html",
            &[
                ("index.html", "<html>"),
                ("about.html", "<html>"),
                ("js/site.js", ""),
            ],
            &[(".", "html", "", "", 0, "none")],
        ),
    ]);
}

#[test]
#[allow(clippy::too_many_lines)] // a table of cases
fn port_sources() {
    check(&[
        (
            "dockerfile",
            &[
                ("go.mod", "module x\n"),
                (
                    "main.go",
                    "package main\nfunc main() { http.ListenAndServe(addr, nil) }\n",
                ),
                ("Dockerfile", "FROM x\nEXPOSE 9000\n"),
            ],
            &[(".", "go", "gomod", "net/http", 9000, "dockerfile")],
        ),
        (
            "dockerfile in deployments/",
            &[
                ("go.mod", "module x\n"),
                ("main.go", "package main\n"),
                ("deployments/Dockerfile", "EXPOSE 7000\n"),
            ],
            &[(".", "go", "gomod", "", 7000, "dockerfile")],
        ),
        (
            "compose",
            &[
                (
                    "docker-compose.yml",
                    "services:\n  web:\n    build: .\n    ports:\n      - \"80:8000\"\n",
                ),
                ("requirements.txt", "django\n"),
                ("manage.py", "DJANGO_SETTINGS_MODULE\n"),
            ],
            &[(".", "python", "pip", "django", 8000, "compose")],
        ),
        (
            "k8s manifest",
            &[
                ("package.json", "{}"),
                (
                    "server.js",
                    "require('http').createServer(h).listen(port)\n",
                ),
                ("k8s/deployment.yaml", "containerPort: 8088\n"),
            ],
            &[(".", "javascript", "npm", "http", 8088, "config")],
        ),
        (
            "procfile",
            &[
                ("requirements.txt", "gunicorn\n"),
                ("wsgi.py", "x = 1\n"),
                ("Procfile", "web: gunicorn wsgi:app --bind 0.0.0.0:8005\n"),
            ],
            &[(".", "python", "pip", "", 8005, "config")],
        ),
        (
            "env default in node",
            &[
                ("package.json", "{\"dependencies\":{\"express\":\"4\"}}"),
                (
                    "app.js",
                    "const PORT = process.env.PORT ?? 8080;\nrequire('express')\n",
                ),
            ],
            &[(".", "javascript", "npm", "express", 8080, "code")],
        ),
        (
            "gin run",
            &[
                ("go.mod", "require github.com/gin-gonic/gin v1.9.1\n"),
                (
                    "main.go",
                    "import \"github.com/gin-gonic/gin\"\nr.Run(\":8085\")\n",
                ),
            ],
            &[(".", "go", "gomod", "gin", 8085, "code")],
        ),
        (
            "axum bind",
            &[
                ("Cargo.toml", "[dependencies]\naxum = '0.7'\n"),
                (
                    "src/main.rs",
                    "use axum::Router;\nlet l = TcpListener::bind(\"0.0.0.0:3000\").await?;\n",
                ),
            ],
            &[(".", "rust", "cargo", "axum", 3000, "code")],
        ),
        (
            "actix bind",
            &[
                ("Cargo.toml", "[dependencies]\nactix-web = '4'\n"),
                (
                    "src/main.rs",
                    "use actix_web::{App};\n.bind((\"127.0.0.1\", 8080))?\n",
                ),
            ],
            &[(".", "rust", "cargo", "actix", 8080, "code")],
        ),
        (
            "spring yaml",
            &[
                ("pom.xml", "org.springframework.boot"),
                ("src/main/java/A.java", SPRING_JAVA),
                (
                    "src/main/resources/application.yml",
                    "spring:\n  name: x\nserver:\n  address: 0.0.0.0\n  port: 8181\n",
                ),
            ],
            &[(".", "java", "maven", "spring-boot", 8181, "config")],
        ),
        (
            "ktor",
            &[
                (
                    "build.gradle.kts",
                    "implementation(\"io.ktor:ktor-server-core\")",
                ),
                (
                    "src/main/kotlin/App.kt",
                    "import io.ktor.server.engine.*\nfun main() { embeddedServer(Netty, port = 8099) {}.start() }\n",
                ),
            ],
            &[(".", "kotlin", "gradle", "ktor", 8099, "code")],
        ),
        (
            "spark java",
            &[
                ("pom.xml", "<groupId>com.sparkjava</groupId>"),
                (
                    "src/main/java/A.java",
                    "import static spark.Spark.*;\npublic class A { public static void main(String[] a) { get(\"/\", (q, r) -> \"hi\"); } }\n",
                ),
            ],
            &[(".", "java", "maven", "spark", 4567, "framework-default")],
        ),
        (
            "puma",
            &[
                ("Gemfile", "gem 'rails'\n"),
                (
                    "config/application.rb",
                    "class Application < Rails::Application\n",
                ),
                ("config/puma.rb", "port ENV.fetch(\"PORT\") { 3001 }\n"),
                ("config.ru", "run Rails.application\n"),
            ],
            &[(".", "ruby", "bundler", "rails", 3001, "config")],
        ),
        (
            "rust address literal",
            &[
                ("Cargo.toml", "[package]\nname = 'x'\n"),
                (
                    "src/main.rs",
                    "let addr: SocketAddr = \"0.0.0.0:8088\".parse()?;\nlet db = \"postgres://localhost:5432/x\";\n",
                ),
            ],
            &[(".", "rust", "cargo", "", 8088, "code")],
        ),
        (
            "no port",
            &[
                ("go.mod", "module x\n"),
                ("main.go", "package main\nfunc main() {}\n"),
            ],
            &[(".", "go", "gomod", "", 0, "none")],
        ),
    ]);
}

#[test]
#[allow(clippy::too_many_lines)] // a table of cases
fn misleading_build_files() {
    check(&[
        (
            "kotlin app, groovy build.gradle",
            &[
                ("build.gradle", "plugins { id 'org.springframework.boot' }"),
                ("settings.gradle", "rootProject.name = 'x'"),
                ("src/main/kotlin/demo/App.kt", SPRING_KT),
            ],
            &[(
                ".",
                "kotlin",
                "gradle",
                "spring-boot",
                8080,
                "framework-default",
            )],
        ),
        (
            "java app, build.gradle.kts",
            &[
                (
                    "build.gradle.kts",
                    "plugins { id(\"org.springframework.boot\") }",
                ),
                ("gradlew", ""),
                ("src/main/java/demo/App.java", SPRING_JAVA),
            ],
            &[(
                ".",
                "java",
                "gradle",
                "spring-boot",
                8080,
                "framework-default",
            )],
        ),
        (
            "django with a frontend package.json",
            &[
                ("requirements.txt", "Django==5.0\n"),
                (
                    "manage.py",
                    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'x')\n",
                ),
                ("package.json", "{\"devDependencies\":{\"webpack\":\"5\"}}"),
                ("package-lock.json", "{}"),
                ("assets/a.js", ""),
                ("assets/b.js", ""),
                ("assets/c.js", ""),
                ("assets/d.jsx", ""),
            ],
            &[(".", "python", "pip", "django", 8000, "framework-default")],
        ),
        (
            "deno app with package.json",
            &[
                (
                    "deno.json",
                    "{\"tasks\":{\"start\":\"deno run -A main.ts\"}}",
                ),
                ("package.json", "{}"),
                ("main.ts", "Deno.serve((_req) => new Response('hi'))\n"),
            ],
            &[(".", "typescript", "deno", "http", 8000, "framework-default")],
        ),
        (
            "go app with a stray python script",
            &[
                ("go.mod", "module x\n"),
                ("main.go", GO_HTTP),
                ("scripts/gen.py", "print(1)\n"),
                ("scripts/requirements.txt", "jinja2\n"),
            ],
            &[(".", "go", "gomod", "net/http", 8080, "code")],
        ),
        (
            "typescript with js config files",
            &[
                (
                    "package.json",
                    "{\"dependencies\":{\"@nestjs/core\":\"10\"}}",
                ),
                ("tsconfig.json", "{}"),
                ("jest.config.js", ""),
                (
                    "src/main.ts",
                    "const app = await NestFactory.create(AppModule);\nawait app.listen(3000);\n",
                ),
                ("src/app.module.ts", ""),
            ],
            &[(".", "typescript", "npm", "nest", 3000, "code")],
        ),
        (
            "next is not express",
            &[
                (
                    "package.json",
                    "{\"dependencies\":{\"next\":\"14\",\"react\":\"18\"}}",
                ),
                ("next.config.js", ""),
                ("pages/index.js", ""),
            ],
            &[(".", "javascript", "npm", "next", 3000, "framework-default")],
        ),
        (
            "flask dependency of a django-free app",
            &[
                ("requirements.txt", "flask\ndjango-environ\n"),
                ("app.py", FLASK),
            ],
            &[(".", "python", "pip", "flask", 5000, "framework-default")],
        ),
    ]);
}

#[test]
#[allow(clippy::too_many_lines)] // a table of cases
fn multi_app_shapes() {
    check(&[
        (
            "services/* with their own manifests",
            &[
                ("README.md", ""),
                ("services/api/go.mod", "module api\n"),
                ("services/api/main.go", GO_HTTP),
                ("services/web/package.json", "{}"),
                ("services/web/server.js", EXPRESS),
            ],
            &[
                ("services/api", "go", "gomod", "net/http", 8080, "code"),
                ("services/web", "javascript", "npm", "express", 3000, "code"),
            ],
        ),
        (
            "npm workspace: root holds apps, libraries dropped",
            &[
                (
                    "package.json",
                    "{\"workspaces\":[\"apps/*\",\"packages/*\"]}",
                ),
                ("eslint.config.js", ""),
                ("apps/api/package.json", "{}"),
                ("apps/api/src/index.ts", "import { Hono } from 'hono'\n"),
                (
                    "apps/web/package.json",
                    "{\"dependencies\":{\"next\":\"14\"}}",
                ),
                ("apps/web/next.config.mjs", ""),
                ("packages/ui/package.json", "{}"),
                ("packages/ui/src/button.tsx", ""),
            ],
            &[
                (
                    "apps/api",
                    "typescript",
                    "npm",
                    "hono",
                    3000,
                    "framework-default",
                ),
                (
                    "apps/web",
                    "javascript",
                    "npm",
                    "next",
                    3000,
                    "framework-default",
                ),
            ],
        ),
        (
            "compose build contexts",
            &[
                (
                    "docker-compose.yml",
                    "services:\n  api:\n    build: ./api\n    ports: \n      - \"8000:8000\"\n  worker:\n    build:\n      context: ./worker\n  db:\n    image: postgres\n",
                ),
                ("api/app.py", FLASK),
                ("api/requirements.txt", "flask\n"),
                ("worker/worker.py", "import time\n"),
            ],
            &[
                ("api", "python", "pip", "flask", 8000, "compose"),
                ("worker", "python", "", "", 0, "none"),
            ],
        ),
        (
            "maven multi-module",
            &[
                (
                    "pom.xml",
                    "<packaging>pom</packaging><modules><module>app</module><module>lib</module></modules>",
                ),
                ("app/pom.xml", "org.springframework.boot"),
                ("app/src/main/java/A.java", SPRING_JAVA),
                ("lib/pom.xml", ""),
                ("lib/src/main/java/L.java", "class L {}"),
            ],
            &[(
                "app",
                "java",
                "maven",
                "spring-boot",
                8080,
                "framework-default",
            )],
        ),
        (
            "gradle multi-project",
            &[
                ("settings.gradle.kts", "include(\"app\", \"core\")"),
                ("gradlew", ""),
                ("app/build.gradle.kts", "application"),
                ("app/src/main/kotlin/Main.kt", "fun main() {}\n"),
                ("core/build.gradle.kts", ""),
                ("core/src/main/kotlin/Core.kt", "class Core\n"),
            ],
            &[("app", "kotlin", "gradle", "", 0, "none")],
        ),
        (
            "cargo workspace",
            &[
                ("Cargo.toml", "[workspace]\nmembers = ['server', 'core']\n"),
                ("server/Cargo.toml", "[dependencies]\naxum = '0.7'\n"),
                ("server/src/main.rs", "use axum::Router;\n"),
                ("core/Cargo.toml", ""),
                ("core/src/lib.rs", ""),
            ],
            &[("server", "rust", "cargo", "axum", 0, "none")],
        ),
        (
            "sibling dirs with own manifests",
            &[
                (
                    "backend/pyproject.toml",
                    "[project]\ndependencies = ['fastapi']\n",
                ),
                ("backend/main.py", "from fastapi import FastAPI\n"),
                (
                    "frontend/package.json",
                    "{\"dependencies\":{\"next\":\"14\"}}",
                ),
                ("frontend/next.config.js", ""),
                ("frontend/tsconfig.json", "{}"),
                ("frontend/app/page.tsx", ""),
            ],
            &[
                (
                    "backend",
                    "python",
                    "pip",
                    "fastapi",
                    8000,
                    "framework-default",
                ),
                (
                    "frontend",
                    "typescript",
                    "npm",
                    "next",
                    3000,
                    "framework-default",
                ),
            ],
        ),
        (
            "root app with a separate server in web/",
            &[
                ("go.mod", "module x\n"),
                ("main.go", GO_HTTP),
                ("web/package.json", "{}"),
                ("web/server.js", EXPRESS),
            ],
            &[
                (".", "go", "gomod", "net/http", 8080, "code"),
                ("web", "javascript", "npm", "express", 3000, "code"),
            ],
        ),
        (
            "dotnet solution",
            &[
                ("App.sln", ""),
                ("src/Api/Api.csproj", "Sdk=\"Microsoft.NET.Sdk.Web\""),
                (
                    "src/Api/Program.cs",
                    "WebApplication.CreateBuilder(args);\n",
                ),
                ("tests/Api.Tests/Api.Tests.csproj", ""),
                ("tests/Api.Tests/T.cs", ""),
            ],
            &[(
                "src/Api",
                "csharp",
                "dotnet",
                "aspnet",
                8080,
                "framework-default",
            )],
        ),
        (
            "elixir umbrella",
            &[
                ("mix.exs", "def project, do: [apps_path: \"apps\"]"),
                ("apps/web/mix.exs", "{:phoenix, \"~> 1.7\"}"),
                ("apps/web/lib/web/endpoint.ex", "use Phoenix.Endpoint\n"),
                ("apps/core/mix.exs", ""),
                ("apps/core/lib/core.ex", "defmodule Core do end\n"),
            ],
            &[(
                "apps/web",
                "elixir",
                "mix",
                "phoenix",
                4000,
                "framework-default",
            )],
        ),
    ]);
}

#[test]
fn existing_dockerfile_and_chart_are_kept() {
    let apps = detect(&[
        ("go.mod", "module x\n"),
        ("main.go", GO_HTTP),
        ("deployments/Dockerfile", "FROM golang\n"),
        ("deploy/helm/x/Chart.yaml", "name: x\n"),
        ("deploy/helm/x/values.yaml", ""),
        ("devloop.toml", ""),
    ]);
    assert_eq!(apps.len(), 1);
    let kept: Vec<&str> = apps[0].kept.iter().map(|k| k.path.as_str()).collect();
    assert_eq!(
        kept,
        ["deployments/Dockerfile", "deploy/helm/x", "devloop.toml"]
    );
    assert_eq!(apps[0].files, [".dockerignore", ".vscode/launch.json"]);
}

/// Regression: devloop's own repo was reported as an actix app listening on
/// 8080, from a fixture under tests/.
#[test]
fn tests_examples_and_docs_do_not_decide() {
    let apps = detect(&[
        ("Cargo.toml", "[package]\nname = 'tool'\n"),
        ("src/main.rs", "fn main() {}\n"),
        (
            "tests/fixtures/web/Cargo.toml",
            "[dependencies]\nactix-web = '4'\n",
        ),
        (
            "tests/fixtures/web/src/main.rs",
            "use actix_web::App;\n.bind((\"0.0.0.0\", 8080))\n",
        ),
        ("tests/fixtures/web/Dockerfile", "EXPOSE 8080\n"),
        ("examples/server/main.rs", "use axum::Router;\n"),
        ("docs/chart/Chart.yaml", "name: x\n"),
    ]);
    assert_eq!(apps.len(), 1);
    let app = &apps[0];
    assert_eq!((app.framework.as_deref(), app.port), (None, None));
    assert!(app.kept.is_empty(), "{:?}", app.kept);
}

#[test]
fn comments_do_not_decide() {
    let apps = detect(&[
        ("Cargo.toml", "[package]\nname = 'lib'\n"),
        (
            "src/main.rs",
            "//! ```\n//! use axum::Router;\n//! let l = TcpListener::bind(\"0.0.0.0:3000\");\n//! ```\nfn main() {}\n",
        ),
        (
            "src/old.rs",
            "/*\n * use actix_web::App;\n */\n#[derive(Debug)]\nstruct S;\n",
        ),
    ]);
    assert_eq!((apps[0].framework.as_deref(), apps[0].port), (None, None));
    let apps = detect(&[
        ("requirements.txt", "flask\n"),
        (
            "app.py",
            "# app.run(port=9999)\nfrom flask import Flask\napp.run(port=5001)\n",
        ),
    ]);
    assert_eq!(apps[0].port, Some(5001));
}

#[test]
fn files_are_relative_to_the_repo_root() {
    let apps = detect(&[("svc/a/go.mod", "module a\n"), ("svc/a/main.go", GO_HTTP)]);
    assert_eq!(apps[0].path, "svc/a");
    assert_eq!(apps[0].name, "a");
    assert_eq!(apps[0].entry.as_deref(), Some("svc/a/main.go"));
    assert!(apps[0].files.contains(&"svc/a/chart/Chart.yaml".to_owned()));
    assert!(apps[0].files.contains(&"devloop.toml".to_owned()));
}

#[test]
fn evidence_names_file_and_line() {
    let apps = detect(&[
        ("requirements.txt", "flask\n"),
        (
            "app.py",
            "import os\nfrom flask import Flask\napp.run(port=5001)\n",
        ),
    ]);
    let ev = &apps[0].evidence;
    let port = ev
        .iter()
        .find(|e| e.field == "port")
        .expect("port evidence");
    assert_eq!((port.file.as_deref(), port.line), (Some("app.py"), Some(3)));
    let fw: Vec<_> = ev.iter().filter(|e| e.field == "framework").collect();
    assert!(
        fw.iter()
            .any(|e| e.file.as_deref() == Some("app.py") && e.line == Some(2)),
        "{fw:?}"
    );
}

#[test]
fn nothing_to_detect() {
    assert!(detect(&[]).is_empty());
    assert!(detect(&[("README.md", "# hi"), ("docs/index.html", "")]).is_empty());
    // Unknown stays null: a bare Gradle build without sources guesses nothing but the build tool.
    let apps = detect(&[("build.gradle", "")]);
    assert_eq!(apps[0].framework, None);
    assert_eq!(apps[0].port, None);
}
