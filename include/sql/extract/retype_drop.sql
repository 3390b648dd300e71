DROP TABLE {stage}
