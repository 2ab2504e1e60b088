import Hummingbird
import NIOCore

/// Answers every error that reaches it as the JSON of protocol.md §4.6: unknown routes and methods,
/// malformed heads Hummingbird itself refuses, and any fault, whose text stays in the log.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError {
            let status = Int(error.status.code)
            let code: String
            switch status {
            case 404: code = "not_found"
            case 405: code = "method_not_allowed"
            case 413: code = "too_large"
            case 400..<500: code = "bad_request"
            default: code = "internal"
            }
            let message = status == 404 ? "no such endpoint: \(request.method) \(request.uri.path)" : "request refused (\(status))"
            return Routes.error(APIError(status: status, code: code, message: status >= 500 ? "internal server error" : message))
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return Routes.error(.fault(error))
        }
    }
}
