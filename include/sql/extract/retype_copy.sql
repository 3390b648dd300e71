COPY {stage} (id, value) FROM STDIN
