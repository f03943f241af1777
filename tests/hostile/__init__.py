"""The project's hostile suite: inputs, options, servers and panels that try to break a run."""
