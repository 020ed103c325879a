# leaf-import as a container: a static binary on a distroless base, run as a non-root user.
#   make image                      (docker build --build-arg VERSION=... -t leaf-import:VERSION .)
#   docker run --rm -e LEAF_USERNAME -e LEAF_PASSWORD -v "$PWD:/work" -v leaf-state:/state \
#     leaf-import:VERSION apply /work/manifest.yaml
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/leaf-import ./cmd/leaf-import \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leaf-import /usr/local/bin/leaf-import
# The account workspace (lock, run history, fingerprint key): mount a volume here to keep it.
# The directory belongs to the nonroot user (65532), so a fresh named volume does too.
COPY --from=build --chown=65532:65532 /out/state /state
ENV LEAF_IMPORT_STATE_DIR=/state
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/leaf-import"]
CMD ["--help"]
