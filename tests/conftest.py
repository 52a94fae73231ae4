import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: tiny networks run faster without the thread pool's overhead."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
