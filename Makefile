# The short path for trying zts: cargo builds libzts, cc builds the demo.
# (cmake/ is the install path for projects that link zts.)

CARGO ?= cargo
CC ?= cc
CFLAGS ?= -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -O2
LIBDIR := target/release

.PHONY: all lib demo test clean

all: lib

lib:
	$(CARGO) build --release

demo: lib
	$(CC) $(CFLAGS) -Iinclude examples-c/demo.c -o $(LIBDIR)/demo \
		-L$(LIBDIR) -lzts -Wl,-rpath,$(abspath $(LIBDIR))
	$(LIBDIR)/demo

test:
	$(CARGO) test

clean:
	$(CARGO) clean
