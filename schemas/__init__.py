# The web layer's tables join the metadata wherever schemas is imported (migrations, inventory).
from schemas import web as _web  # noqa: F401
