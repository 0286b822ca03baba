# make install PREFIX=~/.local: the one-step install (Examples/install.sh builds, then installs the
# binary, man page, completions and systemd user unit).
PREFIX ?= $(HOME)/.local

.PHONY: install
install:
	bash Examples/install.sh --prefix "$(PREFIX)"
