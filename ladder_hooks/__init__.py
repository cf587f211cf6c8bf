"""This project's glue for ladder-bench: workloads, answer hooks and the scaling sweep's peers."""
