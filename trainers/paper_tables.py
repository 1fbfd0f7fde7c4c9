"""The paper's Fashion-MNIST numbers (Tables 2-3, bottom halves), for side-by-side reports."""

from __future__ import annotations

METHOD_COLUMNS = ("vae", "beta-vae", "infovae", "infomax-vae")

# depth -> (VAE, beta-VAE, InfoVAE, InfoMax-VAE)
LOG_LIKELIHOOD = {
    2: (-253.87, -265.00, -253.37, -252.17),
    4: (-254.44, -291.25, -245.07, -243.46),
    10: (-284.82, -277.54, -266.12, -262.61),
}
ACTIVE_UNITS = {2: (20, 20, 20, 20), 4: (18, 13, 20, 20), 10: (9, 17, 12, 20)}
MUTUAL_INFORMATION = {
    2: (3.55, 2.04, 3.36, 3.58),
    4: (3.12, 2.12, 3.56, 3.85),
    10: (3.04, 2.53, 3.57, 3.87),
}
# Table 3 prints "5.5." for beta-VAE at depth 4; read as 5.50.
KL = {
    2: (16.96, 5.57, 84.87, 18.38),
    4: (14.28, 5.50, 82.09, 16.90),
    10: (9.64, 4.82, 43.42, 15.72),
}

FASHION_MNIST = {
    "log_likelihood": LOG_LIKELIHOOD,
    "active_units": ACTIVE_UNITS,
    "mutual_information": MUTUAL_INFORMATION,
    "kl": KL,
}


def paper_value(metric: str, method: str, depth: int) -> float | None:
    table = FASHION_MNIST.get(metric, {})
    if depth not in table:
        return None
    return table[depth][METHOD_COLUMNS.index(method)]
