# Thin wrapper around CMake; the real build is CMakeLists.txt.
.PHONY: all test demo setup clean asan bench
all:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j$$(nproc)
setup:
	bash scripts/setup.sh
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON -DCMAKE_C_COMPILER=clang && cmake --build build-asan -j$$(nproc)
bench: all
	bash bench/run.sh
clean:
	rm -rf build build-asan build-fuzz
