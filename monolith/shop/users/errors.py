from shop.common.errors import DomainError


class EmailTaken(DomainError):
    status = 409
    code = "email_taken"
    title = "That email is already registered"


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    title = "Wrong email or password"


class InvalidRefreshToken(DomainError):
    status = 401
    code = "invalid_token"
    title = "The refresh token is not valid"
