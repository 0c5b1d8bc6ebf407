"""Console routes (placeholder until the pages land)."""

from fastapi import APIRouter

console = APIRouter(prefix="/console", include_in_schema=False)
