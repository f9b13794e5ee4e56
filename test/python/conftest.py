import os
import secrets

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """Fresh random inputs every run; the seed is printed with any failure
    and can be fixed with SSM_TEST_SEED to reproduce one."""
    seed = int(os.environ.get("SSM_TEST_SEED", secrets.randbits(32)))
    request.node.user_properties.append(("seed", seed))
    print(f"seed={seed}")
    return np.random.default_rng(seed)
