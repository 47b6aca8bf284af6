# The support image of `devloop up --debug` for go: delve under /dbg/go,
# which an init container copies into the pod. Debian's delve (1.20) matches
# Debian's go; a newer toolchain needs a newer delve (`go install
# github.com/go-delve/delve/cmd/dlv@latest` in a user pack's copy of this file).
FROM golang:1.24
RUN apt-get update \
 && apt-get install -y --no-install-recommends delve \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /dbg/go \
 && cp "$(command -v dlv)" /dbg/go/dlv \
 && chmod -R a+rX /dbg
USER 10001
