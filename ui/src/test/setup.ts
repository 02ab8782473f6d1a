// jsdom has no layout: the calls the interface makes for scrolling do nothing here.
Element.prototype.scrollIntoView ??= function scrollIntoView() {};
