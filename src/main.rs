//! The `redis-sentinel-gen` binary. Everything is in the library (`run`) so tests can call it.

fn main() {
    std::process::exit(redis_sentinel_gen::run::run(std::env::args_os()));
}
