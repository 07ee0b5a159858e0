//! Pure math, no web types: linear algebra, statistics, and the three scales of the paper.
