"""Routes for the analysis domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
