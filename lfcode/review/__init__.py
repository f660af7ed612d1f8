"""Diff review: choosing the diff (:mod:`.diff`), hunks, findings, the model analyzer (:mod:`.model`), reports (text, JSON, SARIF), the git hook and the shared service (:mod:`.service`)."""
