"""Evaluation of the assistant against gold questions, a peer baseline, and benchmarks."""
