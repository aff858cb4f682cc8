# syntax=docker/dockerfile:1
# plimsoll's container image: a static binary on distroless, run as the
# nonroot user (65532), with no shell and nothing writable. It is what
# deploy/ and charts/plimsoll run (ghcr.io/plimsoll/plimsoll:<version>).
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/plimsoll/plimsoll:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v0.1.0 .
#
# The builder runs on the build machine's platform and cross-compiles for
# the target, so multi-platform builds need no emulation.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY internal/ internal/
ARG TARGETOS=linux
ARG TARGETARCH
# What `plimsoll version` prints (internal/cli.Version and cli.Commit;
# the build context has no .git, so the commit is passed in, e.g.
# --build-arg COMMIT=$(git rev-parse HEAD)).
ARG VERSION=dev
ARG COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X github.com/plimsoll/plimsoll/internal/cli.Version=${VERSION} -X github.com/plimsoll/plimsoll/internal/cli.Commit=${COMMIT}" \
      -o /out/plimsoll ./cmd/plimsoll

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/plimsoll /plimsoll
USER 65532:65532
ENTRYPOINT ["/plimsoll"]
