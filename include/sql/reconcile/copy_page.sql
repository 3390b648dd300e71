COPY {page} ({columns}) FROM STDIN
