# The two commands of the README, and the steps they are made of.
.PHONY: setup dev test check unit fuzz e2e deploy-check check-config check-config-deploy deploy

# Install every tool the build and the tests need (idempotent; seconds once done).
setup:
	scripts/setup

# Command 1: run gatehouse locally on http://127.0.0.1:8787 with local D1, KV and Queue.
dev: setup
	scripts/dev

# Command 2: the whole test suite, as CI runs it.
test: setup check unit fuzz deploy-check e2e

check: check-config
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	scripts/check-cycles

# The shipped local configuration (wrangler.toml and .dev.vars) as `wrangler dev` reads it.
check-config:
	cargo run --quiet -p gatehouse-check-config -- --vars-file .dev.vars

# wrangler.toml as `wrangler deploy` would ship it; name the secrets already set with
# SECRETS="GATEHOUSE_SECRET ADMIN_TOKEN" (or let `make deploy` ask Cloudflare).
check-config-deploy:
	cargo run --quiet -p gatehouse-check-config -- --deploy $(foreach s,$(SECRETS),--secret $(s))

# Check the configuration, apply the remote D1 migrations, deploy (scripts/deploy).
deploy: setup
	scripts/deploy

unit:
	cargo test --workspace

# Thirty seconds of libFuzzer on the Markdown converter (crates/markdown/fuzz), in bounded memory.
fuzz:
	cd crates/markdown && cargo +nightly fuzz run html_to_markdown -- -max_total_time=30 -rss_limit_mb=512

# Builds the optimised release Worker exactly as `wrangler deploy` would and prints its size;
# fails when the Worker would not deploy, or when its wasm is over the size budget
# (scripts/check-size). The end-to-end suite then runs that very build.
deploy-check:
	WRANGLER_SEND_METRICS=false npx wrangler deploy --dry-run --outdir dist
	scripts/check-size
	scripts/dry-run-example

e2e:
	GATEHOUSE_PREBUILT=1 tests/e2e/run
