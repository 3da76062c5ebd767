"""Real SIP peers on loopback (sipp and baresip) playing customers and seats: tests, demo, benchmarks."""
