"""The statistics of the analyses, in pure numpy and scipy: no SQL, no database.

- :mod:`.weights`: spatial weights between H3 cells (``grid_disk`` of k rings), as sparse matrices.
- :mod:`.hotspots`: Getis-Ord Gi*, Benjamini-Hochberg false-discovery-rate adjustment, and the
  hot/cold classes.
- :mod:`.trend`: the Mann-Kendall trend test, one series per row, vectorised.
- :mod:`.emerging`: ESRI's Emerging Hot Spot Analysis categories from Gi* series and trends.
- :mod:`.coverage`: Empirical Bayes rates, expected reports (negative binomial) and the
  under-reporting flag, bootstrap intervals, and reporting rates from duplicate reports.
"""
