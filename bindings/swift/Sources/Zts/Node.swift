import CZts

/// A zts node: one TCP/IP stack with its own addresses, joined to networks.
/// Configure it (join, addAddress) while stopped, then start() it. It is
/// freed when the last reference goes; every socket keeps its node alive.
public final class Node: Sendable {
    /// The id zts_node_new returned, for calls this package does not wrap.
    public let id: Int32

    public init() throws {
        id = try check(zts_node_new(), "zts_node_new")
    }

    deinit { zts_node_free(id) }

    /// Joins the network `uri` names ("mem:NAME", "vxlan://...", "tap:NAME";
    /// see zts.h) while the node is stopped.
    public func join(_ uri: String) throws -> Network {
        Network(id: try check(zts_net_join(id, uri), "zts_net_join"))
    }

    /// Adds an address with its prefix length ("10.0.0.1/24", "fd00::1/64").
    public func addAddress(_ cidr: String, on network: Network) throws {
        try check(zts_addr_add(id, network.id, cidr), "zts_addr_add")
    }

    /// Routes `cidr` ("0.0.0.0/0" for the default route) through `gateway`.
    public func addRoute(_ cidr: String, via gateway: String) throws {
        try check(zts_route_add(id, cidr, gateway), "zts_route_add")
    }

    /// The local UDP port of a `vxlan://` network (useful after binding port 0).
    public func overlayPort(of network: Network) throws -> UInt16 {
        UInt16(try check(zts_net_get_port(id, network.id), "zts_net_get_port"))
    }

    public func start() throws {
        try check(zts_node_start(id), "zts_node_start")
    }

    /// Stops the node: its connections are reset and calls on its sockets
    /// fail with ENETDOWN until it starts again.
    public func stop() throws {
        try check(zts_node_stop(id), "zts_node_stop")
    }

    /// The library's version, e.g. "0.1.0".
    public static var libraryVersion: String { String(cString: zts_version()) }
}

/// A network a node joined: the id zts_net_join returned within the node.
public struct Network: Sendable, Hashable {
    public let id: Int32

    public init(id: Int32) {
        self.id = id
    }
}
