"""Routes for the tiles domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
