"""How far two correct answers may differ by rounding: the slack that the tests' oracle
(tests/oracle.py) and the timing table's agreement rule (``ladder.agreement``) share.

It imports nothing, so the oracle can load it without loading the library: both load
this file by its path (neither the tests nor the tooling put ``ladder_hooks`` on the path).
"""

# Rungs compute centers and areas in different orders (numpy's pairwise sums, Rust's
# sequential ones), so areas that are equal on paper differ in the last bits. Any
# polygon within this relative distance of the smallest area is an acceptable "smallest",
# and so is one within the rounding error of the shoelace sums themselves (which only
# matters for nearly degenerate polygons, whose terms cancel).
AREA_RTOL = 1e-9
# Distances within this relative slack of max_dist are decided by rounding, not geometry.
DISTANCE_RTOL = 1e-12
