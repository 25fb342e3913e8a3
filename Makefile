# schul-idp: `make demo` and `make test` work on a fresh Debian machine as root.

VENV        ?= .venv
PYTHON      ?= python3
BIN         := $(VENV)/bin
IDP         := $(BIN)/idp
STAMP       := $(VENV)/.installed
DEMO_DIR    := instance/demo
DEMO_SEED   ?= 1
DEMO_SCHOOLS ?= 3

# Debian packages the whole test suite needs (real servers, no fakes).
TEST_PACKAGES := postgresql slapd ldap-utils chromium
# Debian packages the app needs at run time (xmlsec1 signs SAML messages; the DejaVu fonts
# print umlauts in the credential letters).
RUN_PACKAGES  := python3 python3-venv xmlsec1 fonts-dejavu-core
# Debian packages pip needs to build python-ldap (OpenLDAP's C client library, which the mail
# directory connector uses) where no wheel exists.
BUILD_PACKAGES := gcc libc6-dev python3-dev libldap-dev libsasl2-dev

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint install apt-python build-packages run-packages system-test clean

demo: $(STAMP) run-packages
	$(IDP) db upgrade
	$(IDP) demo-data --schools $(DEMO_SCHOOLS) --seed $(DEMO_SEED) --out $(DEMO_DIR)
	$(IDP) import run --source sip $(DEMO_DIR)/sip --actor demo
	$(IDP) import run --source personal $(DEMO_DIR)/personal --actor demo
	@echo
	@echo "Demo-Land aus $(DEMO_DIR)/ (SIP-Schule- und Personal-Export) importiert."
	$(IDP) demo-logins --client-file $(DEMO_DIR)/demo-client.json --client-port 8081
	@echo "Anmelden: http://127.0.0.1:8080/login   Verwaltung: http://127.0.0.1:8080/verwaltung/"
	@echo "(Strg+C beendet beides)"
	@echo
	@# The demo service runs beside the IdP and stops with it.
	$(BIN)/python -m idp.demodata.relying_party --client $(DEMO_DIR)/demo-client.json --port 8081 & \
	rp=$$!; trap 'kill $$rp 2>/dev/null' EXIT INT TERM; \
	$(IDP) serve --host 127.0.0.1 --port 8080

test: $(STAMP) run-packages system-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || $(MAKE) --no-print-directory apt-python
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) || { \
		rm -rf $(VENV); $(MAKE) --no-print-directory apt-python && $(PYTHON) -m venv $(VENV); }
	@$(MAKE) --no-print-directory build-packages
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Install only what is missing; `apt-get update` only when something is.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installiere Debian-Pakete:$$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

# Debian's python3 has no venv module without python3-venv.
apt-python:
	$(call apt_install,$(RUN_PACKAGES))

build-packages:
	$(call apt_install,$(BUILD_PACKAGES))

run-packages:
	$(call apt_install,$(RUN_PACKAGES))

system-test:
	$(call apt_install,$(TEST_PACKAGES))

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
